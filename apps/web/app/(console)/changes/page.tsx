import type { Metadata } from "next";
import Link from "next/link";
import { ChangeList } from "./change-list";

export const metadata: Metadata = { title: "Changes" };

export default function ChangesPage() {
  return (
    <>
      <div className="title-row">
        <h1>Change requests</h1>
        <Link className="button" href="/changes/new">
          New change
        </Link>
      </div>
      <ChangeList />
    </>
  );
}
