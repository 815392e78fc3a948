/** JSON schemas the services' routes share. */

/** An id: BIGINT in the database, a JSON number the client can hold exactly (couriers are epoch millis). */
export const idSchema = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

/** Path parameters of one id, e.g. `idParams('orderId')` for `/orders/:orderId`. */
export const idParams = <Name extends string>(name: Name) =>
  ({ type: 'object', required: [name], properties: { [name]: idSchema } }) as const;

/** The body of a 404 or 409: what is missing or in the way. */
export const messageBody = { type: 'object', properties: { message: { type: 'string' } } } as const;
