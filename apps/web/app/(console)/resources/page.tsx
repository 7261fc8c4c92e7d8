import type { Metadata } from "next";
import Link from "next/link";
import { ResourceList } from "./resource-list";

export const metadata: Metadata = { title: "Resources" };

export default function ResourcesPage() {
  return (
    <>
      <div className="title-row">
        <h1>Resources in force</h1>
        <Link className="button" href="/changes/new">
          New change
        </Link>
      </div>
      <ResourceList />
    </>
  );
}
