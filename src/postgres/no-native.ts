/**
 * node-postgres loads its native binding (`pg-native`, found through NODE_PATH or any
 * node_modules above the bundle) instead of its JavaScript client when NODE_PG_FORCE_NATIVE
 * is set. The action bundles the JavaScript client and has checked it: a module found on
 * the runner's disk must never receive the admin connection. Called by every front end
 * before anything imports pg.
 */
export function refuseNativeDriver(env: NodeJS.ProcessEnv = process.env): void {
  delete env.NODE_PG_FORCE_NATIVE
}
