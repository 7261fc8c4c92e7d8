-- A service's virtual IP (docs/decisions/013-service-vips.md). Null for the services that exist now: each
-- control-plane replica allocates VIPs for those when it starts, so no address is chosen here. Unique: two
-- replicas allocating at once cannot hand one address to two services, the index decides.
ALTER TABLE "Service" ADD COLUMN "vip" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Service_vip_key" ON "Service"("vip");
