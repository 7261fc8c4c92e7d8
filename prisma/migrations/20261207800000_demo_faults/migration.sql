-- DemoFault: the demo's fault switch (decision 023). One row per demo workload with a fault in force.

-- CreateTable
CREATE TABLE "DemoFault" (
    "namespace" TEXT NOT NULL,
    "service" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "percent" DOUBLE PRECISION NOT NULL,
    "latencyMs" INTEGER NOT NULL,
    "setBy" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DemoFault_pkey" PRIMARY KEY ("namespace","service","version")
);
