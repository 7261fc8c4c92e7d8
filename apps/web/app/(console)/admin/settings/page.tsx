import type { Metadata } from "next";
import { NamespaceSettingsAdmin } from "../_components/namespace-settings";

export const metadata: Metadata = { title: "Namespace settings" };

export default function SettingsPage() {
  return (
    <>
      <h1>Namespace settings</h1>
      <NamespaceSettingsAdmin />
    </>
  );
}
