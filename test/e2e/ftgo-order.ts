/**
 * The requests of the FTGO end-to-end scenario the image and chart tests share: a restaurant with one
 * menu item, and an order of five of it (61.70 in all) for a consumer.
 */

export const restaurantRequest = {
  name: 'My Restaurant',
  address: { street1: '1 Main Street', city: 'Oakland', state: 'CA', zip: '94611' },
  menu: { menuItems: [{ id: '1', name: 'Chicken Vindaloo', price: '12.34' }] },
};

export function orderRequest(consumerId: number, restaurantId: number): object {
  return {
    consumerId,
    restaurantId,
    deliveryAddress: { street1: '9 Amazing View', city: 'Oakland', state: 'CA', zip: '94612' },
    deliveryTime: '2026-12-24T19:00:00',
    lineItems: [{ menuItemId: '1', quantity: 5 }],
  };
}
