/* The register map of the modelled PCIe DMA engine (hw/pcie/dma_engine.c,
 * docs/pcie.md), shared by the model and the kernel's drivers so the two
 * cannot disagree. Freestanding: constants only.
 *
 * BAR registers, 8 bytes each:
 *   0x00 SRC   0x08 DST   0x10 LEN   0x18 DOORBELL (a write starts a copy)
 *   0x20 DONE  (read: copies completed since power-on)
 *   0x28 STATUS (read: bit 0 = a read of the last copy was refused: its
 *        bytes were not copied; cleared by the next doorbell)
 *   0x30 ID    (read: DMAE_ID_VALUE; reading it has no side effect) */
#ifndef KERNEL_DEV_DMA_ENGINE_H
#define KERNEL_DEV_DMA_ENGINE_H

enum {
    DMAE_SRC = 0x00,
    DMAE_DST = 0x08,
    DMAE_LEN = 0x10,
    DMAE_DOORBELL = 0x18,
    DMAE_DONE = 0x20,
    DMAE_STATUS = 0x28,
    DMAE_ID = 0x30,
};
#define DMAE_ID_VALUE 0x45414d44u   /* "DMAE" */
#define DMAE_STATUS_READ_REFUSED 1u /* STATUS bit 0 */
#define DMAE_VECTOR 0u              /* the engine's default MSI-X vector */

#endif
