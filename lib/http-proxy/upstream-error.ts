/**
 * Upstream failures sorted into the metric's fixed reasons, and the answer a client gets for one that
 * happened before its response started: 504 when the upstream was too slow, 502 otherwise.
 */

import { ErrorCode } from '../errors.js';
import type { UpstreamErrorReason } from './metrics.js';

export function upstreamErrorReason(err: Error & { code?: string }): UpstreamErrorReason {
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'connect';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    default:
      return 'other';
  }
}

export interface UpstreamFailureAnswer {
  status: 502 | 504;
  code: ErrorCode;
  message: string;
}

export function upstreamFailureAnswer(
  reason: UpstreamErrorReason,
  err: Error & { code?: string },
  timeoutMs: number,
): UpstreamFailureAnswer {
  return reason === 'timeout'
    ? {
        status: 504,
        code: ErrorCode.UPSTREAM_TIMEOUT,
        message: `upstream did not answer within ${timeoutMs} ms`,
      }
    : { status: 502, code: ErrorCode.UPSTREAM, message: `upstream unavailable (${err.code ?? err.message})` };
}
