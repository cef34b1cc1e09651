// Preloaded (node --import) into each process `npm start` runs. Should the launcher die without
// stopping it (SIGKILL, the OOM killer), the process stops itself as if it had been sent SIGTERM,
// so nothing is left running and holding a port. Plain JavaScript: it also loads into next.
const launcher = Number(process.env.JIELONG_LAUNCHER_PID);

// Only the launcher's own children watch: processes they fork inherit this preload and the
// variable, but their parent is not the launcher.
if (launcher > 0 && process.ppid === launcher) {
  const timer = setInterval(() => {
    if (process.ppid === launcher) return; // an orphan is re-parented, so its ppid changes
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
    // A stop that hangs must not keep the port either: take down this process group.
    setTimeout(() => {
      try {
        process.kill(-process.pid, 'SIGKILL');
      } catch {
        process.exit(1); // not a group leader
      }
    }, 20_000).unref();
  }, 500);
  timer.unref();
}
