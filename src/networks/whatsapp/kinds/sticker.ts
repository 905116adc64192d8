// A Matrix sticker goes to WhatsApp as a sticker when it is a WebP image (WhatsApp's sticker format; the file is
// already encrypted with the image keys, which stickers share), otherwise as the image it is.
import type { MessageInit } from "../media-message.js";

export function stickerFromImage(m: MessageInit): MessageInit {
  const img = m.imageMessage;
  if (!img || img.mimetype !== "image/webp") return m;
  return {
    stickerMessage: {
      ...(img.url !== undefined ? { url: img.url } : {}),
      ...(img.directPath !== undefined ? { directPath: img.directPath } : {}),
      ...(img.mediaKey !== undefined ? { mediaKey: img.mediaKey } : {}),
      ...(img.fileSha256 !== undefined ? { fileSha256: img.fileSha256 } : {}),
      ...(img.fileEncSha256 !== undefined ? { fileEncSha256: img.fileEncSha256 } : {}),
      ...(img.fileLength !== undefined ? { fileLength: img.fileLength } : {}),
      ...(img.width !== undefined ? { width: img.width } : {}),
      ...(img.height !== undefined ? { height: img.height } : {}),
      ...(img.contextInfo !== undefined ? { contextInfo: img.contextInfo } : {}),
      mimetype: "image/webp",
    },
  };
}
