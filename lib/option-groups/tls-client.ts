/**
 * TLS settings for the https URLs a component calls (a config URL, a health URL, a webhook), used by
 * lib/http-client.ts. TLS 1.2 or newer is always required, so there is no option for it.
 */

import { opt } from '../options.js';

export const tlsClientOptions = {
  caFile: opt.file({
    mustExist: true,
    description:
      'PEM CA bundle (a private CA) that the https servers this component calls must chain to, instead of the system CAs; TLS 1.2 or newer is always required.',
  }),
};
