/* The register map and command set of the modelled NVMe-like SSD
 * (hw/storage/nvme.c, docs/storage.md), shared by the model and the
 * kernel's NVMe driver (kernel/drivers/nvme.c) so the two cannot disagree.
 * Freestanding: constants only.
 *
 * Layout is the NVMe base specification's: 64-byte submission entries,
 * 16-byte completion entries with a phase bit, CAP/VS/CC/CSTS/AQA/ASQ/ACQ
 * in BAR0 and the doorbells from 0x1000 (stride 4 bytes: SQ y tail at
 * 0x1000 + 8y, CQ y head at 0x1000 + 8y + 4). Only a 4 KiB LBA format,
 * one namespace (NSID 1), PRP data pointers (no SGLs). */
#ifndef KERNEL_DEV_NVME_H
#define KERNEL_DEV_NVME_H

enum nvme_reg {
    NVME_REG_CAP = 0x00,  /* 8 B: MQES 15:0, CQR 16, TO 31:24 (500 ms units), CSS 44:37 */
    NVME_REG_VS = 0x08,   /* 4 B: version (1.4) */
    NVME_REG_CC = 0x14,   /* 4 B: EN 0, CSS 6:4, MPS 10:7, SHN 15:14, IOSQES 19:16, IOCQES 23:20 */
    NVME_REG_CSTS = 0x1C, /* 4 B: RDY 0, CFS 1, SHST 3:2 */
    NVME_REG_AQA = 0x24,  /* 4 B: ASQS 11:0, ACQS 27:16 (entries - 1) */
    NVME_REG_ASQ = 0x28,  /* 8 B: admin SQ base (bus address, 4 KiB aligned) */
    NVME_REG_ACQ = 0x30,  /* 8 B: admin CQ base */
    NVME_REG_ID = 0xF00,  /* 8 B, read-only: NVME_ID_VALUE, the PCI-style identity word of
                           * include/kernel/driver.h (DRV_ID_REG): vendor, device, class */
    NVME_REG_DB = 0x1000, /* doorbells */
};
/* vendor 0x4F52 ("OR"), device 0x0001, class 01:08:02 (NVM Express), rev 1 */
#define NVME_ID_VALUE 0x4F52000101080201ull
#define NVME_CLASS_MASK (0xFFFFFFull << 8)
#define NVME_SQE_BYTES 64u
#define NVME_CQE_BYTES 16u
#define NVME_LBA_BYTES 4096u
#define NVME_PAGE 4096u

enum nvme_admin_opc {
    NVME_ADM_DELETE_SQ = 0x00,
    NVME_ADM_CREATE_SQ = 0x01,
    NVME_ADM_DELETE_CQ = 0x04,
    NVME_ADM_CREATE_CQ = 0x05,
    NVME_ADM_IDENTIFY = 0x06,
    NVME_ADM_SET_FEATURES = 0x09,
};
enum nvme_io_opc { NVME_IO_FLUSH = 0x00, NVME_IO_WRITE = 0x01, NVME_IO_READ = 0x02 };
#define NVME_FEAT_NUM_QUEUES 0x07
#define NVME_RW_FUA (1u << 30) /* CDW12 */

/* Status field of a CQE (DW3 31:17): SC 7:0, SCT 10:8, DNR 14. Generic
 * command status (SCT 0) codes. */
enum nvme_status {
    NVME_SC_SUCCESS = 0x00,
    NVME_SC_INVALID_OPCODE = 0x01,
    NVME_SC_INVALID_FIELD = 0x02,
    NVME_SC_DATA_XFER_ERROR = 0x04,
    NVME_SC_ABORT_SQ_DELETED = 0x08,
    NVME_SC_INVALID_NS = 0x0B,
    NVME_SC_INVALID_PRP_OFFSET = 0x13,
    NVME_SC_LBA_RANGE = 0x80,
    /* command specific (SCT 1) */
    NVME_SC_CQ_INVALID = 0x100,
    NVME_SC_QID_INVALID = 0x101,
    NVME_SC_QUEUE_SIZE = 0x102,
    NVME_SC_INVALID_VECTOR = 0x108,
};

#endif
