import type { Metadata } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Trellis", template: "%s · Trellis" },
  description: "Trellis service mesh console",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Every page is rendered per request, so each gets the CSP nonce proxy.ts made for it (a page prerendered
  // at build time, such as the 404 page, would carry no nonce and its scripts would be refused).
  await connection();
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
