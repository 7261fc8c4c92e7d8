import type { Metadata } from "next";
import { ProposeLink } from "../_components/propose-link";
import { ResourceList } from "./resource-list";

export const metadata: Metadata = { title: "Resources" };

export default function ResourcesPage() {
  return (
    <>
      <div className="title-row">
        <h1>Resources in force</h1>
        <ProposeLink href="/changes/new">New change</ProposeLink>
      </div>
      <ResourceList />
    </>
  );
}
