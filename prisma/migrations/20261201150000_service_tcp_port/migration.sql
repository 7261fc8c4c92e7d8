-- A TCP service's port: where callers reach it and its app port on the workloads (announced by its proxies).
ALTER TABLE "Service" ADD COLUMN "port" INTEGER;
