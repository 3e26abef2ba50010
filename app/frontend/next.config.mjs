// Plain JavaScript on purpose: a next.config.ts needs the TypeScript compiler to be loaded.

/** @type {import("next").NextConfig} */
const nextConfig = {
  // A self-contained server (`node server.js`) for the container image.
  output: "standalone",
  poweredByHeader: false,
  reactStrictMode: true,
  // No image optimisation: nothing is written to .next/cache/images at run time and sharp is
  // never loaded.
  images: { unoptimized: true },
  // Keep Next's render cache in memory: the server then writes nothing to disk, so it runs on a
  // read-only root filesystem (otherwise it tries to write .next/server/route-cache).
  experimental: { isrFlushToDisk: false },
  // Linting is not part of the production build (ESLint is not a dependency).
  eslint: { ignoreDuringBuilds: true },
  // Build-time-only packages that next's file tracing would otherwise copy into the standalone
  // output: sharp (optional, for image optimisation, unused) and the TypeScript compiler.
  outputFileTracingExcludes: {
    "*": ["node_modules/sharp/**", "node_modules/@img/**", "node_modules/typescript/**"],
  },
};

export default nextConfig;
