// End-to-end health: the frontend answers with the backend's /health (502 if unreachable).
import { backendHealth } from "@/lib/backend";

export const dynamic = "force-dynamic";

export function GET(): Promise<Response> {
  return backendHealth();
}
