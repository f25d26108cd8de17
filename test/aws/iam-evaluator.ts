/**
 * An independent IAM policy evaluator for API Gateway Lambda authorizer policies, written from AWS's documentation
 * rather than from `src/aws/policy.ts`, so property-based tests can check what API Gateway would do with a policy.
 *
 * - IAM User Guide, "Policy evaluation logic": an explicit Deny in any applicable statement overrides any Allow;
 *   otherwise an applicable Allow is needed; otherwise the request is implicitly denied.
 * - IAM User Guide, "IAM JSON policy elements: Resource": `*` matches any combination of characters, `?` matches
 *   exactly one character, and resource matching is case-sensitive.
 * - IAM User Guide, "IAM JSON policy elements: Action": action names are case-insensitive and may use the
 *   same wildcards.
 * - API Gateway Developer Guide, "Statement reference of IAM policies for executing API in API Gateway": the action is
 *   `execute-api:Invoke` and the resource is `arn:aws:execute-api:region:account-id:api-id/stage/METHOD/resource-path`.
 *
 * The documentation does not say whether a `*` inside the resource path stops at `/`, so both readings are offered:
 * `any-run` (a `*` matches any run, `/` included) and `segment` (only a final `*` crosses `/`).
 */

/** How a `*` in a Resource pattern treats `/`. */
export type WildcardReading = "any-run" | "segment";

export interface PolicyStatement {
  readonly Effect: string;
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
}

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: readonly PolicyStatement[];
}

const INVOKE_ACTION = "execute-api:invoke";

/** true = API Gateway lets the request through (Allow), false = 403 */
export function evaluatePolicy(policy: PolicyDocument, methodArn: string, reading: WildcardReading): boolean {
  let allowed = false;
  for (const statement of policy.Statement) {
    if (statement.Effect !== "Allow" && statement.Effect !== "Deny") continue;
    if (!appliesTo(statement, methodArn, reading)) continue;
    if (statement.Effect === "Deny") return false;
    allowed = true;
  }
  return allowed;
}

/**
 * Whether the Resource `pattern` names `arn`: case-sensitive, with `*` per `reading` and `?` as exactly one
 * character.
 */
export function resourceMatches(pattern: string, arn: string, reading: WildcardReading): boolean {
  // Shortcuts with the same answer as the general matcher: no wildcard at all, or a single final `*`.
  const wildcards = /[*?]/.exec(pattern);
  if (wildcards === null) return pattern === arn;
  if (wildcards.index === pattern.length - 1 && pattern.endsWith("*")) return arn.startsWith(pattern.slice(0, -1));
  return globMatches(Array.from(pattern), Array.from(arn), reading);
}

function appliesTo(statement: PolicyStatement, methodArn: string, reading: WildcardReading): boolean {
  const actionApplies = list(statement.Action).some((action) =>
    globMatches(Array.from(action.toLowerCase()), Array.from(INVOKE_ACTION), "any-run"),
  );
  return actionApplies && list(statement.Resource).some((resource) => resourceMatches(resource, methodArn, reading));
}

function list(value: string | readonly string[]): readonly string[] {
  return typeof value === "string" ? [value] : value;
}

/**
 * Dynamic programming over characters (code points), last pattern character first: after the step for pattern
 * index `i`, `rest[j]` tells whether `pattern[i..]` matches `text[j..]`. No regular expression is built from input.
 */
function globMatches(pattern: readonly string[], text: readonly string[], reading: WildcardReading): boolean {
  const n = text.length;
  let rest: boolean[] = Array.from({ length: n + 1 }, (_, j) => j === n);
  for (let i = pattern.length - 1; i >= 0; i--) {
    const token = pattern[i]!;
    const current: boolean[] = new Array<boolean>(n + 1).fill(false);
    if (token === "*") {
      const crossesSlash = reading === "any-run" || i === pattern.length - 1;
      current[n] = rest[n]!;
      for (let j = n - 1; j >= 0; j--) {
        const consumable = crossesSlash || text[j] !== "/";
        current[j] = rest[j]! || (consumable && current[j + 1]!);
      }
    } else {
      for (let j = 0; j < n; j++) {
        current[j] = (token === "?" || text[j] === token) && rest[j + 1]!;
      }
    }
    rest = current;
  }
  return rest[0]!;
}
