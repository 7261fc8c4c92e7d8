import type { Metadata } from "next";
import { ProposeLink } from "../_components/propose-link";
import { ChangeList } from "./change-list";

export const metadata: Metadata = { title: "Changes" };

export default function ChangesPage() {
  return (
    <>
      <div className="title-row">
        <h1>Change requests</h1>
        <ProposeLink href="/changes/new">New change</ProposeLink>
      </div>
      <ChangeList />
    </>
  );
}
