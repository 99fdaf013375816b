/**
 * The protocol's comm target on every kernel connection a notebook or console opens, kept up
 * to date across kernel changes.
 *
 * A JupyterLab kernel connection closes any comm whose target it does not know, and the
 * kernel reads that close as "no capable frontend here". So every connection that may
 * handle comms for the kernel must know the target, including a console's, even though
 * only a notebook can take part in a run.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelMessage } from '@jupyterlab/services';

import { TARGET_NAME } from './protocol';

export type CommOpenHandler = (
  kernel: Kernel.IKernelConnection,
  comm: Kernel.IComm,
  msg: KernelMessage.ICommOpenMsg
) => void;

export function registerCommTarget(sessionContext: ISessionContext, onOpen: CommOpenHandler): void {
  const register = (kernel: Kernel.IKernelConnection | null | undefined): void => {
    kernel?.registerCommTarget(TARGET_NAME, (comm, msg) => onOpen(kernel, comm, msg));
  };
  register(sessionContext.session?.kernel);
  sessionContext.kernelChanged.connect((_, change) => register(change.newValue));
}
