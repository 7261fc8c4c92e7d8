export { trellisHome, meshSecret, deriveKey } from "./home.js";
