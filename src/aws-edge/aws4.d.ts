/**
 * The part of aws4 (https://github.com/mhart/aws4, MIT; it ships no types) that the edge function uses:
 * `sign` adds `Host`, `Content-Length`, `X-Amz-Date` (unless given), `X-Amz-Security-Token` (with a session
 * token) and `Authorization` to `request.headers`, and returns `request`.
 */
declare module "aws4" {
  interface SignableRequest {
    hostname: string;
    port?: number;
    path: string;
    method: string;
    service: string;
    region: string;
    headers: Record<string, string | number>;
    body: string;
  }
  interface SigningCredentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
  }
  const aws4: {
    sign<R extends SignableRequest>(request: R, credentials: SigningCredentials): R;
  };
  export default aws4;
}
