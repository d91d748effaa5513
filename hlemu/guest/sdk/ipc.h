/*
 * ipc.h - IPC command headers and translate descriptors, as libctru's <3ds/ipc.h>.
 *
 * A request or reply lives in the thread's command buffer (TLS + 0x80, 64 words):
 *
 *   word 0            header: command id (bits 31-16), number of normal words (11-6),
 *                     number of translate words (5-0)
 *   words 1..n        normal parameters, copied as they are
 *   words n+1..n+t    translate parameters: descriptor word(s), each followed by the
 *                     value(s) it describes, which the kernel rewrites for the receiver
 *
 * Descriptor kinds (3dbrew "IPC"; the type is in the low bits):
 *
 *   (count-1) << 26 | 0x00   copy `count` handles (the sender keeps its own)
 *   (count-1) << 26 | 0x10   move `count` handles (closed in the sender)
 *   0x20                     the kernel writes the sender's process id into the next word
 *   size << 14 | id << 10 | 0x2
 *                            static buffer: the kernel copies `size` bytes from the address in
 *                            the next word into the receiver's static buffer `id` (whose
 *                            descriptor and address the receiver keeps at TLS + 0x180 + 8*id)
 *                            and rewrites the word to that buffer's address
 *   size << 4 | 0x8 | rights mapped buffer: the kernel maps the sender's `size` bytes at the
 *                            address in the next word into the receiver and rewrites the word
 *                            to the receiver's address; rights are IPC_BUFFER_R/W/RW (bits
 *                            1-2). A server sends the same descriptors back in its reply to
 *                            unmap them.
 *
 * Function names and argument orders are libctru's so code ports both ways;
 * IPC_Desc_CurProcessHandle is the older libctru name of IPC_Desc_CurProcessId.
 */
#ifndef HLEMU_IPC_H
#define HLEMU_IPC_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mapped-buffer access rights for the receiver (bits 1-2 of the descriptor). */
typedef enum {
    IPC_BUFFER_R = 1u << 1,
    IPC_BUFFER_W = 1u << 2,
    IPC_BUFFER_RW = IPC_BUFFER_R | IPC_BUFFER_W,
} IPC_BufferRights;

/* The command buffer holds 64 words; a static buffer descriptor's size field has 18 bits. */
#define IPC_COMMAND_BUFFER_WORDS 64
#define IPC_STATIC_BUFFER_MAX_SIZE 0x3FFFFu
#define IPC_MAX_STATIC_BUFFERS 16

/* Header word: command id, normal words, translate words (each count up to 63). */
static inline u32 IPC_MakeHeader(u16 command_id, unsigned normal_params, unsigned translate_params)
{
    return ((u32)command_id << 16) | (((u32)normal_params & 0x3F) << 6) |
           ((u32)translate_params & 0x3F);
}

/* Fields of a header word. */
static inline u16 IPC_CommandId(u32 header)
{
    return (u16)(header >> 16);
}

static inline unsigned IPC_NormalParams(u32 header)
{
    return (header >> 6) & 0x3F;
}

static inline unsigned IPC_TranslateParams(u32 header)
{
    return header & 0x3F;
}

/* Copy `number` handles (1..64) that follow; the sender keeps its own. */
static inline u32 IPC_Desc_SharedHandles(unsigned number)
{
    return (u32)(number - 1) << 26;
}

/* Move `number` handles (1..64) that follow: the kernel closes them in the sender. */
static inline u32 IPC_Desc_MoveHandles(unsigned number)
{
    return ((u32)(number - 1) << 26) | 0x10;
}

/* The kernel replaces the following word with the sending process's id. */
static inline u32 IPC_Desc_CurProcessId(void)
{
    return 0x20;
}

static inline u32 IPC_Desc_CurProcessHandle(void)
{
    return IPC_Desc_CurProcessId();
}

/* A static buffer of `size` bytes for buffer slot `buffer_id` (0..15); the next word is its
 * address. Also the format of the receiver's entries at TLS + 0x180. */
static inline u32 IPC_Desc_StaticBuffer(size_t size, unsigned buffer_id)
{
    return ((u32)size << 14) | ((buffer_id & 0xF) << 10) | 0x2;
}

/* A mapped buffer of `size` bytes with `rights` for the receiver; the next word is its address. */
static inline u32 IPC_Desc_Buffer(size_t size, IPC_BufferRights rights)
{
    return ((u32)size << 4) | 0x8 | (u32)rights;
}

/* Reading descriptors back (hlemu helpers, not in libctru). */
static inline bool IPC_IsStaticBufferDesc(u32 desc)
{
    return (desc & 0xF) == 0x2;
}

static inline size_t IPC_StaticBufferSize(u32 desc)
{
    return desc >> 14;
}

static inline unsigned IPC_StaticBufferId(u32 desc)
{
    return (desc >> 10) & 0xF;
}

static inline bool IPC_IsBufferDesc(u32 desc)
{
    return (desc & 0x8) != 0;
}

static inline size_t IPC_BufferSize(u32 desc)
{
    return desc >> 4;
}

static inline IPC_BufferRights IPC_BufferRightsOf(u32 desc)
{
    return (IPC_BufferRights)(desc & 0x6);
}

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_IPC_H */
