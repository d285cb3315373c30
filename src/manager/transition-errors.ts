import { InstancePlanError } from '../errors';

/** `INVALID_TRANSITION`: names the record, `from`, `to`, and the targets that would have been allowed. */
export function invalidTransition(
  kind: 'instance' | 'plan' | 'step',
  id: string,
  from: string,
  to: string,
  allowed: readonly string[],
  extra: Record<string, unknown> = {},
): InstancePlanError {
  const options =
    allowed.length === 0
      ? `"${from}" is terminal: no status change is allowed`
      : `allowed from "${from}": ${allowed.map((s) => `"${s}"`).join(', ')}`;
  const reason = typeof extra.reason === 'string' ? `: ${extra.reason}` : '';
  return new InstancePlanError('INVALID_TRANSITION', `Cannot move ${kind} ${JSON.stringify(id)} from "${from}" to "${to}"${reason}; ${options}.`, {
    kind,
    id,
    from,
    to,
    allowed: [...allowed],
    ...extra,
  });
}

/** An action (record a turn, set the current step, ...) that the record's status does not allow. */
export function actionNotAllowed(
  kind: 'instance' | 'plan',
  id: string,
  status: string,
  action: string,
  allowedIn: readonly string[],
): InstancePlanError {
  return new InstancePlanError(
    'INVALID_TRANSITION',
    `Cannot ${action} on ${kind} ${JSON.stringify(id)} while it is "${status}"; allowed while: ${allowedIn.map((s) => `"${s}"`).join(', ')}.`,
    { kind, id, from: status, to: status, action, allowed: [], allowed_in: [...allowedIn] },
  );
}
