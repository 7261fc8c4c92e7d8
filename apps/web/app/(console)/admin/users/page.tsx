import type { Metadata } from "next";
import { UsersAdmin } from "../_components/users";

export const metadata: Metadata = { title: "Users" };

export default function UsersPage() {
  return (
    <>
      <h1>Users</h1>
      <UsersAdmin />
    </>
  );
}
