/** test/fixtures/openapi-paths.ts, where the generated client types are committed. */
export const TYPES_FILE: URL;
/** The TypeScript openapi-typescript makes of an OpenAPI document. */
export function typesOf(document: unknown): Promise<string>;
/** The OpenAPI document the HTTP handler serves at the default limits. */
export function servedDocument(): Promise<unknown>;
