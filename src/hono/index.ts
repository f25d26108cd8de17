export { authgear, type AuthgearOptions, type AuthgearVariables } from "./middleware.ts";
export type { Identity } from "../core/index.ts";
