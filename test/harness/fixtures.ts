import type { RoleInfo } from '../../src/domain/family.js'
import { STATE_TOOL, STATE_VERSION, type FamilyState } from '../../src/domain/state.js'

/** A family set up with app_a active and no rotation open, as setup leaves it. */
export function idleState(over: Partial<FamilyState> = {}, passwordSetAt = '2026-01-01T00:00:00.000Z'): FamilyState {
  return {
    tool: STATE_TOOL,
    version: STATE_VERSION,
    logins: ['app_a', 'app_b'],
    active: 'app_a',
    rotation: null,
    lastClosed: null,
    passwordSetAt: { app_a: passwordSetAt },
    ...over,
  }
}

/** A login role as setup leaves it: member of app with SET and INHERIT, SET role = app; NOLOGIN unless said. */
export function loginRole(name: string, over: Partial<RoleInfo> = {}): RoleInfo {
  return {
    name,
    canLogin: false,
    superuser: false,
    member: true,
    canSet: true,
    inherits: true,
    defaultRole: 'app',
    ...over,
  }
}

/** The NOLOGIN group role as setup leaves it. */
export function groupRole(over: Partial<RoleInfo> = {}): RoleInfo {
  return {
    name: 'app',
    canLogin: false,
    superuser: false,
    member: false,
    canSet: false,
    inherits: false,
    defaultRole: null,
    ...over,
  }
}
