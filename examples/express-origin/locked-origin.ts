/**
 * An Express app behind the Worker, locked to it with the Worker's ORIGIN_SECRET, reading the
 * caller from the identity headers (identity.ts).
 */
import express, { type Request, type Response } from "express";
import { gateIdentity, lockedToGate } from "./identity.ts";

export function createOrdersApp(originSecret: string): express.Express {
  const app = express();
  app.use(lockedToGate(originSecret));
  app.get("/orders", (req: Request, res: Response) => {
    const caller = gateIdentity(req);
    if (caller?.kind !== "user") {
      res.status(403).json({ error: "users only" });
      return;
    }
    res.json({ orders: [], for: caller.userId, admin: caller.roles.includes("admin") });
  });
  return app;
}
