// A Matrix sticker reaches the codec already as a stickerMessage: the media bridge converts its file to WhatsApp's
// sticker form (app/media/sticker-convert.ts), or sends it as an image and tells the user why. This relabelling of a
// WebP imageMessage remains for stickers queued in that form before the conversion existed (the file is encrypted
// with the image keys, which stickers share).
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
