import type { Metadata } from "next";
import { ChangeEditor } from "./change-editor";

export const metadata: Metadata = { title: "New change" };

type Search = Promise<Record<string, string | string[] | undefined>>;

/**
 * `?edit=Kind/namespace/name` starts from the resource in force, `&delete=1` proposes deleting it,
 * `?template=Route&namespace=shop&service=reviews` starts from a template (the graph's "propose a change").
 */
export default async function NewChangePage({ searchParams }: { searchParams: Search }) {
  const q = await searchParams;
  const one = (k: string) => (typeof q[k] === "string" ? (q[k] as string) : undefined);
  return (
    <>
      <h1>New change request</h1>
      <ChangeEditor
        edit={one("edit")}
        remove={one("delete") === "1"}
        template={one("template")}
        namespace={one("namespace")}
        service={one("service")}
      />
    </>
  );
}
