// Imported for its effect, before anything is parsed, by every console module that parses with zod in the
// browser (the forms; zod-jitless.test.ts finds them). Zod compiles object parsers with `new Function` when it
// may, and probes for that at the first parse of an object: under the console's Content-Security-Policy (no
// 'unsafe-eval') the probe is refused and reported as a violation. Parse without compiling instead.
// Not in the tRPC provider, which every page loads: that put zod on pages that parse nothing (decision 021).
import { z } from "zod";

z.config({ jitless: true });
