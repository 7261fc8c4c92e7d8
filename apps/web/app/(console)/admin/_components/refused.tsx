// What a page shows someone who may not use it. The server refuses the calls anyway; this only says so
// before they try.
export function Refused({ what }: { what: string }) {
  return (
    <div className="admin-refused" role="status">
      <h2>Not allowed</h2>
      <p>{what} An administrator can grant you a role.</p>
    </div>
  );
}
