import { spawnSupervised, type SupervisedProcess } from "./supervised-process.js";

export type RootProcess = SupervisedProcess;

/**
 * Starts argv inside the chroot at root, in its own process group, with stdout and stderr appended to
 * outputPath (host path). The environment is minimal so the host's Python or locale settings cannot leak in.
 */
export function spawnInRoot(root: string, argv: string[], outputPath: string): RootProcess {
  return spawnSupervised({
    wrapper: ["chroot", root],
    argv,
    outputPath,
    env: {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      LANG: "C.UTF-8",
      HOME: "/root",
      PYTHONDONTWRITEBYTECODE: "1",
    },
  });
}
