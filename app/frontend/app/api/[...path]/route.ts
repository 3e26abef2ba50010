// Every /api/* call from the browser goes through here to ${BACKEND_URL}/api/*.
import { apiPath, proxyToBackend } from "@/lib/backend";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ path: string[] }> };

async function handle(request: Request, context: Context): Promise<Response> {
  const { path } = await context.params;
  const target = apiPath(path);
  if (target === null) {
    return Response.json({ detail: "Not found." }, { status: 404 });
  }
  return proxyToBackend(request, target);
}

export const GET = handle;
export const POST = handle;
export const PUT = handle;
export const PATCH = handle;
export const DELETE = handle;
