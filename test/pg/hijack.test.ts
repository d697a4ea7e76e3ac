/**
 * CVE-2018-1058 class: a role that may create objects in `public` plants
 * overloads of the catalog functions and operators the action calls, each one a
 * better match than pg_catalog's for the argument types the action passes
 * (`unknown` literals, `text[]`, a row type, `oid = integer`, ...). Run as the
 * superuser admin with the server's default search_path, they would execute as
 * the admin. Every phase runs next to them; none may run.
 *
 * PostgreSQL 14: planted by a plain login with no grants (public is writable by
 * all). 15+: planted by the family's group role, which owns the database.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { familyName, loginAs, phase, servers, withAdmin } from '../harness/helpers.js'
import type { TestServer } from '../harness/servers.js'

/** Every planted object calls this: records the hit and tries to make the planter superuser. */
const HIT = (mallory: string) => `
CREATE TABLE public.hijack_log (fn text, app text, by_user text);
GRANT ALL ON public.hijack_log TO PUBLIC;
CREATE FUNCTION public.hj_hit(fn text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO public.hijack_log VALUES (fn, pg_catalog.current_setting('application_name'), pg_catalog."current_user"()::text);
  BEGIN
    EXECUTE 'ALTER ROLE ${mallory} SUPERUSER';
  EXCEPTION WHEN others THEN NULL;
  END;
END $f$;`

/** Overloads that each delegate to pg_catalog's function, so a hijacked phase still "works". */
const PLANTS = `
CREATE FUNCTION public.shobj_description(oid, text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('shobj_description(oid,text)'); RETURN pg_catalog.shobj_description($1, $2::name); END $f$;
CREATE FUNCTION public.pg_has_role(name, text, text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('pg_has_role(name,text,text)'); RETURN pg_catalog.pg_has_role($1, $2::name, $3); END $f$;
CREATE FUNCTION public.pg_has_role(text, oid, text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('pg_has_role(text,oid,text)'); RETURN pg_catalog.pg_has_role($1::name, $2, $3); END $f$;
CREATE FUNCTION public.current_setting(text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('current_setting(text)'); RETURN pg_catalog.current_setting($1); END $f$;
CREATE FUNCTION public.current_setting(text, boolean) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('current_setting(text,boolean)'); RETURN pg_catalog.current_setting($1, $2); END $f$;
CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('unnest(text[])'); RETURN QUERY SELECT pg_catalog.unnest($1); END $f$;
CREATE FUNCTION public.to_jsonb(pg_catalog.pg_auth_members) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('to_jsonb(pg_auth_members)'); RETURN pg_catalog.to_jsonb($1); END $f$;
CREATE FUNCTION public.host(inet) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('host(inet)'); RETURN pg_catalog.host($1); END $f$;
CREATE FUNCTION public.pg_terminate_backend(integer) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('pg_terminate_backend(integer)'); RETURN pg_catalog.pg_terminate_backend($1); END $f$;
CREATE FUNCTION public.pg_advisory_xact_lock(numeric) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('pg_advisory_xact_lock(numeric)'); PERFORM pg_catalog.pg_advisory_xact_lock($1::bigint); END $f$;
CREATE FUNCTION public.current_database() RETURNS name LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('current_database()'); RETURN pg_catalog.current_database(); END $f$;
CREATE FUNCTION public.hj_text_accum(text[], text) RETURNS text[] LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('array_agg(text)'); RETURN pg_catalog.array_append($1, $2); END $f$;
CREATE AGGREGATE public.array_agg(text) (SFUNC = public.hj_text_accum, STYPE = text[]);
CREATE FUNCTION public.hj_json_accum(json[], json) RETURNS json[] LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('json_agg(json)'); RETURN pg_catalog.array_append($1, $2); END $f$;
CREATE FUNCTION public.hj_json_final(json[]) RETURNS json LANGUAGE sql AS $f$ SELECT pg_catalog.array_to_json($1) $f$;
CREATE AGGREGATE public.json_agg(json) (SFUNC = public.hj_json_accum, STYPE = json[], FINALFUNC = public.hj_json_final);
CREATE FUNCTION public.hj_eq_oid_int(oid, integer) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('=(oid,integer)'); RETURN $1 OPERATOR(pg_catalog.=) $2::oid; END $f$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = integer, FUNCTION = public.hj_eq_oid_int);
CREATE FUNCTION public.hj_eq_oid_regclass(oid, regclass) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('=(oid,regclass)'); RETURN $1 OPERATOR(pg_catalog.=) $2::oid; END $f$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = public.hj_eq_oid_regclass);
CREATE FUNCTION public.hj_eq_name_text(name, text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('=(name,text)'); RETURN $1::text OPERATOR(pg_catalog.=) $2; END $f$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = text, FUNCTION = public.hj_eq_name_text);
CREATE FUNCTION public.hj_ne_int(integer, integer) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('<>(integer,integer)'); RETURN $1 OPERATOR(pg_catalog.<>) $2; END $f$;
CREATE OPERATOR public.<> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.hj_ne_int);
CREATE FUNCTION public.hj_jsonb_get(jsonb, text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.hj_hit('->>(jsonb,text)'); RETURN $1 OPERATOR(pg_catalog.->>) $2; END $f$;
CREATE OPERATOR public.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.hj_jsonb_get);
`

const onDatabase = (server: TestServer, db: string): TestServer => ({
  ...server,
  url: server.url.replace(/\/postgres$/, `/${db}`),
})

async function planted(server: TestServer, db: string): Promise<{ fn: string; app: string; by_user: string }[]> {
  return withAdmin(
    onDatabase(server, db),
    async (c) => (await c.query('SELECT fn, app, by_user FROM public.hijack_log ORDER BY 1')).rows,
  )
}

describe.each(servers())(
  'PostgreSQL $major: every phase runs next to planted search_path hijacks without executing them',
  (server) => {
    const role = familyName('hj')
    const mallory = `${role}_mallory`
    const db = `${role}_db`
    const other = `${role}_db2`
    const malloryPassword = 'mallory-password-1234'
    let admin: TestServer

    beforeAll(async () => {
      await withAdmin(server, async (c) => {
        await c.query(`CREATE ROLE ${mallory} LOGIN PASSWORD '${malloryPassword}'`)
        await c.query(`CREATE ROLE ${role} NOLOGIN`)
        // 14: the database belongs to the superuser and mallory has no grant at all; 15+: the group role owns it.
        const owner = server.major >= 15 ? role : 'postgres'
        await c.query(`CREATE DATABASE ${db} OWNER ${owner}`)
        await c.query(`CREATE DATABASE ${other} OWNER ${owner}`)
        if (server.major >= 15) await c.query(`GRANT ${role} TO ${mallory}`)
      })
      for (const d of [db, other]) {
        const c = await loginAs(server, mallory, malloryPassword, d)
        try {
          if (server.major >= 15) await c.query(`SET ROLE ${role}`)
          await c.query(HIT(mallory))
          await c.query(PLANTS)
        } finally {
          await c.end()
        }
      }
      // mallory planted as the group; a member of the group would make setup refuse the family
      // (test/pg/foreign-roles.test.ts), so the membership goes before setup and the plants stay.
      if (server.major >= 15) await withAdmin(server, (c) => c.query(`REVOKE ${role} FROM ${mallory}`))
      admin = onDatabase(server, db)
    })

    afterAll(async () => {
      await withAdmin(server, async (c) => {
        for (const d of [db, other]) await c.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`)
      })
    })

    it("the planted overloads are live: an unpinned client calling the action's catalog functions runs them", async () => {
      const c = new pg.Client({ connectionString: admin.url, application_name: 'control' })
      await c.connect()
      try {
        await c.query(`SELECT shobj_description(oid, 'pg_authid') FROM pg_roles LIMIT 1`)
      } finally {
        await c.end()
      }
      expect((await planted(server, db)).filter((r) => r.app === 'control').map((r) => r.fn)).toContain(
        'shobj_description(oid,text)',
      )
      await withAdmin(server, (a) => a.query(`ALTER ROLE ${mallory} NOSUPERUSER`))
    })

    it('setup, status, fix-ownership, open (login check), verify-drain, close and abort with terminate, replicas, adopt', async () => {
      // The primary stands in for a replica where a phase only counts sessions on it (verify-drain): the
      // replica connections are pinned like every other. The other phases refuse a replica that is
      // not a standby (test/pg/replica.test.ts runs them against a real one).
      const replicas = { 'replica-urls': admin.url }
      const s = await phase(admin, { phase: 'setup', role })
      expect(s.outputs.username).toBe(`${role}_a`)
      await phase(admin, { phase: 'status', role })

      // The login owns something in a second database: fix-ownership visits it.
      await withAdmin(onDatabase(server, other), (c) =>
        c.query(`CREATE TABLE public.owned_${role} (id int); ALTER TABLE public.owned_${role} OWNER TO ${role}_a`),
      )
      const fixed = await phase(admin, { phase: 'setup', role, 'fix-ownership': 'true' })
      expect(fixed.changes.join('\n')).toContain(`-- in database "${other}"`)

      const app = await loginAs(admin, `${role}_a`, s.outputs.password!, db)
      app.on('error', () => {})
      const o = await phase(admin, { phase: 'open', role })
      const d = await phase(admin, { phase: 'verify-drain', role, timeout: '300ms', ...replicas })
      expect(d.outputs.drained).toBe(false)
      const c = await phase(admin, {
        phase: 'close',
        role,
        terminate: 'true',
        'rotation-id': o.outputs.rotationId!,
      })
      expect(c.outputs.remainingConnections).toBe(0)

      const o2 = await phase(admin, { phase: 'open', role })
      const app2 = await loginAs(admin, `${role}_a`, o2.outputs.password!, db)
      app2.on('error', () => {})
      await phase(admin, { phase: 'verify-drain', role, timeout: '1s', 'terminate-after': '0s', ...replicas })
      // The incoming login has a session (app2): abort needs force: true to disable it anyway.
      await phase(admin, { phase: 'abort', role, terminate: 'true', force: 'true' })
      await phase(admin, { phase: 'status', role })

      const legacy = `${role}_legacy`
      await withAdmin(admin, (a) => a.query(`CREATE ROLE ${legacy} LOGIN PASSWORD 'legacy-password-1234'`))
      await phase(admin, { phase: 'setup', role: legacy, adopt: 'true' })
      await phase(admin, { phase: 'open', role: legacy })
      await phase(admin, { phase: 'close', role: legacy, force: 'true' })

      // A search_path in admin-url's own options (public first) does not unpin it.
      await phase(
        { ...admin, url: `${admin.url}?options=${encodeURIComponent('-c search_path=public,pg_catalog')}` },
        { phase: 'status', role },
      )

      const hits = (await planted(server, db)).concat(await planted(server, other)).filter((r) => r.app !== 'control')
      expect(hits).toEqual([])
      const su = await withAdmin(
        server,
        async (a) =>
          (await a.query('SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1', [mallory])).rows[0].rolsuper,
      )
      expect(su).toBe(false)
    })
  },
)
