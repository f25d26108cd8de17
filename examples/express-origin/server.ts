/**
 * An Express origin behind authgear-edge that believes only the gate's signed identity assertion:
 * a request without a valid one (it went around the gate, or a client forged the header) gets a
 * 401, and nothing of the app runs. The settings are the gate's own names.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import { AssertionVerificationError, createAssertionVerifier, type VerifiedAssertion } from "authgear-edge/assertion";

const verifier = createAssertionVerifier({
  // The Worker serves it at https://<its host>/.well-known/authgear-edge/jwks.json.
  jwksUrl: setting("ASSERTION_JWKS_URL"),
  issuer: setting("ASSERTION_ISSUER"),
  audience: setting("ASSERTION_AUDIENCE"),
});

type Caller = { caller: VerifiedAssertion };

const app = express();
app.use(async (req: Request, res: Response<unknown, Caller>, next: NextFunction) => {
  try {
    res.locals.caller = await verifier.verifyRequest(req);
  } catch (error) {
    if (!(error instanceof AssertionVerificationError)) throw error;
    // The gate's keys could not be fetched: the caller may be fine, so not a 401.
    const status = error.code === "ERR_ASSERTION_KEYS_UNAVAILABLE" ? 503 : 401;
    res.status(status).json({ error: error.code });
    return;
  }
  next();
});
app.get("/{*path}", (req: Request, res: Response<unknown, Caller>) => {
  res.json({ path: req.path, caller: res.locals.caller });
});

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`listening on port ${port}\n`);
});

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is required`);
  return value;
}
