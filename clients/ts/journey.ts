// The mobile app's main journey written against the types openapi-typescript generates from
// /api/schema/, used unchanged. `tsc --noEmit` must accept it (scripts/client-check.sh): a
// renamed path, a field that changes type or becomes nullable, a body that stops being JSON,
// all fail the build here before they fail the app. It is type-checked, not run (the Python
// client's journey runs against a server).
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema";

type Listing = components["schemas"]["ProductList"];

export async function journey(baseUrl: string, sms: (phone: string) => Promise<string>): Promise<string> {
  const api = createClient<paths>({ baseUrl });
  const phone = "+971501234567";
  const password = "Dune-Bashing-At-Dawn-77";

  const registered = await api.POST("/api/v1/auth/register/", {
    body: { email: "noura@example.ae", username: "noura", password, phone, role: "buyer" },
  });
  if (registered.error) throw new Error(registered.error.errors.map((e) => e.code).join());
  await api.POST("/api/v1/auth/verify-otp/", { body: { phone, otp_code: await sms(phone) } });

  const signedIn = await api.POST("/api/v1/auth/login/", { body: { identifier: phone, password } });
  if (!signedIn.data) throw new Error("sign-in failed");
  const auth = { Authorization: `Bearer ${signedIn.data.access_token}` };

  const nearby = await api.GET("/api/v1/products/", {
    params: { query: { lat: 25.2, lng: 55.27, radius_km: 5, include_sold: false, page_size: 20 } },
  });
  const first: Listing | undefined = nearby.data?.results[0];
  if (!first) return "nothing nearby";
  const km: number | null | undefined = first.distance_km;

  const offer = await api.POST("/api/v1/offers/", {
    headers: auth,
    body: { product_id: first.id, offered_price: "800.00" },
  });
  if (!offer.data) throw new Error("offer refused");

  const checkout = await api.POST("/api/v1/payments/checkout/", {
    headers: auth,
    body: { offer_id: offer.data.id },
  });
  if (!checkout.data) throw new Error(checkout.error?.errors[0]?.code ?? "checkout failed");
  const tx = await api.GET("/api/v1/transactions/{id}/", {
    headers: auth,
    params: { path: { id: checkout.data.transaction_id } },
  });
  const due: string | null | undefined = tx.data?.payout_release_due_at;
  return `${checkout.data.amount} ${checkout.data.currency}, ${km ?? "?"} km away, payout due ${due ?? "later"}`;
}
