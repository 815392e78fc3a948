/**
 * Errors as the API server sends them: always a `Status` object with a reason and the matching HTTP code.
 * Messages copy the real server's wording, because client code (and people reading logs) match on them.
 */

import type { ResourceType } from './resources.js';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  /** Absent on the Success status of a delete, as on the real server. */
  code?: number;
}

export const reasonForCode: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `configmaps` for the core group, `statefulsets.apps` otherwise: how the server names a resource in messages. */
export function qualifiedName(rt: ResourceType): string {
  return rt.group ? `${rt.resource}.${rt.group}` : rt.resource;
}

function resourceDetails(rt: ResourceType, name: string): StatusDetails {
  return { name, ...(rt.group ? { group: rt.group } : {}), kind: rt.resource };
}

/** A generic error for a code, as injected by `failNext` or produced by a broken request. */
export function statusError(code: number, message?: string): StatusError {
  const reason = reasonForCode[code] ?? 'Unknown';
  const text =
    message ??
    (code === 500
      ? 'Internal error occurred: injected failure'
      : code === 503
        ? 'the server is currently unable to handle the request'
        : code === 429
          ? 'the server has received too many requests and has asked us to try again later'
          : `injected ${reason}`);
  return new StatusError(
    code,
    reason,
    text,
    code === 429 || code === 503 ? { retryAfterSeconds: 1 } : undefined,
  );
}

export function notFound(rt: ResourceType, name: string): StatusError {
  return new StatusError(
    404,
    'NotFound',
    `${qualifiedName(rt)} "${name}" not found`,
    resourceDetails(rt, name),
  );
}

export function namespaceNotFound(namespace: string): StatusError {
  return new StatusError(404, 'NotFound', `namespaces "${namespace}" not found`, {
    name: namespace,
    kind: 'namespaces',
  });
}

export function pathNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function alreadyExists(rt: ResourceType, name: string): StatusError {
  return new StatusError(
    409,
    'AlreadyExists',
    `${qualifiedName(rt)} "${name}" already exists`,
    resourceDetails(rt, name),
  );
}

export function conflict(rt: ResourceType, name: string, why: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(rt)} "${name}": ${why}`,
    resourceDetails(rt, name),
  );
}

export const modifiedConflict =
  'the object has been modified; please apply your changes to the latest version and try again';

export function preconditionFailed(rt: ResourceType, name: string, message: string): StatusError {
  return new StatusError(409, 'Conflict', `Precondition failed: ${message}`, resourceDetails(rt, name));
}

export function invalid(rt: ResourceType, name: string, causes: StatusCause[]): StatusError {
  const parts = causes.map((cause) => (cause.field ? `${cause.field}: ${cause.message}` : cause.message));
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${rt.kind} "${name}" is invalid: ${summary}`, {
    name,
    ...(rt.group ? { group: rt.group } : {}),
    kind: rt.kind,
    causes,
  });
}

/** One field problem, worded like apimachinery's field.Error. */
export function fieldInvalid(field: string, value: unknown, detail: string): StatusCause {
  return {
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
    field,
  };
}

export function fieldRequired(field: string, detail = ''): StatusCause {
  return { reason: 'FieldValueRequired', message: `Required value${detail ? `: ${detail}` : ''}`, field };
}

export function fieldForbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field };
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function tooLargeResourceVersion(requested: number, current: number): StatusError {
  return new StatusError(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

export function forbidden(
  user: string,
  verb: string,
  rt: ResourceType,
  subresource: string | undefined,
  namespace: string | undefined,
  name: string | undefined,
): StatusError {
  const resource = subresource ? `${rt.resource}/${subresource}` : rt.resource;
  const subject = name ? `${qualifiedName(rt)} "${name}"` : qualifiedName(rt);
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  return new StatusError(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${rt.group}" ${scope}`,
    { ...(name ? { name } : {}), ...(rt.group ? { group: rt.group } : {}), kind: rt.resource },
  );
}

export function methodNotAllowed(): StatusError {
  return new StatusError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

export function unsupportedMediaType(accepted: readonly string[]): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ reason: '', message }],
  });
}

/** The `Status` a successful delete returns for most resources. */
export function deletedStatus(rt: ResourceType, name: string, uid: string): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, ...(rt.group ? { group: rt.group } : {}), kind: rt.resource, uid },
  };
}
