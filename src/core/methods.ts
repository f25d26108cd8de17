/** Every method API Gateway routes (its `ANY` is a routing shorthand, never a request's method). */
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type Method = (typeof METHODS)[number];
