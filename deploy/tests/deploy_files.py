#!/usr/bin/python3
"""deploy/tests/deploy_files.py: what can be checked of the deployment files on a machine that
neither runs systemd nor Docker nor Kubernetes (deploy/README.md "Deployment files").

    deploy/tests/deploy_files.py BUILD_DIR [unittest arguments, e.g. SystemdUnits]

- SystemdUnits: `systemd-analyze verify` on a copy of every unit whose ExecStart names the
  binaries of BUILD_DIR (verify checks they exist and are executable) must print nothing; the
  hardening the units promise is there and `systemd-analyze security --offline` rates each one
  2.0 or better; install --dry-run, as the unprivileged user nobody, shows every step.
- YamlFiles: every YAML file of the repository passes yamllint with deploy/yamllint.yaml.
- Containers: every file, build context, Dockerfile target and image that compose.yaml, the
  Kubernetes manifests and the Dockerfile name exists; every Service, port, ConfigMap and
  Secret key a manifest refers to is defined; every pod runs unprivileged with /healthz and
  /readyz probes; deploy/docker/nginx.conf passes `nginx -t`.
- Settings: every EDLIVE_* variable the files set is one the program it is given to reads
  (its --settings-tsv), so a misspelt or retired setting fails here.
- ShellScripts: shellcheck (warning level and above) on every shell script of the repository.

Needs python3-yaml, yamllint, shellcheck, systemd (systemd-analyze) and nginx: deploy/local/lib.sh
installs them for `deploy/local/test`.
"""
import fnmatch
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEPLOY = os.path.join(REPO, 'deploy')
BUILD = None  # set from argv

PROGRAMS = {'ed-api': 'api/ed-api', 'ed-hub': 'hub/ed-hub', 'ed-relay': 'relay/ed-relay',
            'ed-mllp': 'mllp/ed-mllp', 'edlivectl': 'ctl/edlivectl'}
SERVICE_UNITS = ['ed-api.service', 'ed-hub.service', 'ed-relay.service', 'ed-mllp.service']
# Templates: a further ed-api or ed-hub on the port that is the instance name.
TEMPLATES = {'ed-api@.service': 'ed-api@8483.service', 'ed-hub@.service': 'ed-hub@8487.service'}
ALL_UNITS = SERVICE_UNITS + ['edlive-migrate.service', 'edlive.target', *TEMPLATES]
# The files verify reads: a template as one of its instances (so %i has a value).
VERIFIED = [TEMPLATES.get(u, u) for u in ALL_UNITS]
# What the brief of issue 15 asks of every service unit, as the unit must say it.
HARDENING = {
    'User': 'edlive', 'ProtectSystem': 'strict', 'ProtectHome': 'yes', 'PrivateTmp': 'yes',
    'NoNewPrivileges': 'yes', 'CapabilityBoundingSet': '',
    'RestrictAddressFamilies': 'AF_INET AF_INET6 AF_UNIX', 'Restart': 'on-failure',
}
# The units of programs that listen through libwebsockets with EDLIVE_LISTEN: they need netlink
# too (getifaddrs; without it lws listens on every address, seen under a real systemd).
LWS_LISTENERS = {'ed-api.service', 'ed-hub.service', *TEMPLATES}
SKIP_DIRS = {'.git', 'node_modules', '.state', 'test-artifacts', '.cache'}


def repo_files(pattern):
    """Files of the working tree matching a regex on the path relative to the repo."""
    out = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith('build')]
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), REPO)
            if re.search(pattern, rel):
                out.append(rel)
    return sorted(out)


def read_text(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def write_text(path, text):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def settings_of(program):
    """The variables a program reads, from its own table."""
    path = os.path.join(BUILD, 'services', PROGRAMS[program])
    out = subprocess.run([path, '--settings-tsv'], capture_output=True, text=True, check=True)
    names = {line.split('\t')[0] for line in out.stdout.splitlines() if line}
    return names


def unit_settings(path):
    """[(key, value)] of a unit file, in order (a key may repeat)."""
    pairs = []
    for line in read_text(path).splitlines():
        line = line.strip()
        if line and not line.startswith(('#', ';', '[')) and '=' in line:
            key, value = line.split('=', 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


def env_file_names(path):
    """The variable names an EnvironmentFile sets (commented-out lines excluded)."""
    names = []
    for line in read_text(path).splitlines():
        m = re.match(r'^\s*([A-Z_][A-Z0-9_]*)=', line)
        if m:
            names.append(m.group(1))
    return names


def load_yaml_docs(rel):
    with open(os.path.join(REPO, rel), encoding='utf-8') as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def dockerfile_targets():
    text = read_text(os.path.join(DEPLOY, 'docker', 'Dockerfile'))
    return re.findall(r'^FROM\s+\S+\s+AS\s+(\S+)', text, re.M | re.I)


def k8s_objects():
    kust = load_yaml_docs('deploy/k8s/kustomization.yaml')[0]
    objs = []
    for rel in kust['resources'] + ['bootstrap-job.yaml', 'secret.example.yaml']:
        for doc in load_yaml_docs(os.path.join('deploy/k8s', rel)):
            objs.append((rel, doc))
    return objs


def pod_spec(obj):
    if obj['kind'] in ('Deployment', 'Job'):
        return obj['spec']['template']['spec']
    return None


class SystemdUnits(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(DEPLOY, 'systemd')
        self.tmp = tempfile.mkdtemp(prefix='edlive-units-')
        self.addCleanup(shutil.rmtree, self.tmp)

    def copy_units_with_build_binaries(self):
        """The units as installed, but ExecStart= names the binary in BUILD."""
        for unit in ALL_UNITS:
            text = read_text(os.path.join(self.dir, unit))
            for program, sub in PROGRAMS.items():
                text = re.sub(rf'^(ExecStart=.*)/usr/local/bin/{program}\b',
                              rf'\g<1>{BUILD}/services/{sub}', text, flags=re.M)
            self.assertNotIn('/usr/local/bin/', text, f'{unit}: an ExecStart not rewritten')
            write_text(os.path.join(self.tmp, TEMPLATES.get(unit, unit)), text)

    def verify(self, *units):
        return run(['systemd-analyze', 'verify', '--man=no', *units], cwd=self.tmp)

    def test_verify_prints_nothing(self):
        self.copy_units_with_build_binaries()
        r = self.verify(*[f'./{u}' for u in VERIFIED])
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ''))

    def test_verify_would_see_a_mistake(self):
        # The check above is worth something only if verify reports what it should.
        self.copy_units_with_build_binaries()
        path = os.path.join(self.tmp, 'ed-api.service')
        text = read_text(path)
        bad = text.replace('ProtectSystem=strict', 'ProtectSytem=strict')
        bad = bad.replace(f'{BUILD}/services/api/ed-api', f'{BUILD}/services/api/ed-apx')
        write_text(path, bad)
        r = self.verify('./ed-api.service')
        self.assertIn("Unknown key 'ProtectSytem'", r.stderr)
        self.assertIn('ed-apx', r.stderr)
        self.assertNotEqual(r.returncode, 0)

    def test_hardening_and_settings(self):
        for unit in SERVICE_UNITS + ['edlive-migrate.service', *TEMPLATES]:
            with self.subTest(unit=unit):
                pairs = unit_settings(os.path.join(self.dir, unit))
                values = {}
                for k, v in pairs:
                    values.setdefault(k, []).append(v)
                for key, want in HARDENING.items():
                    if unit == 'edlive-migrate.service' and key == 'Restart':
                        continue  # a oneshot is not restarted
                    if key == 'RestrictAddressFamilies' and unit in LWS_LISTENERS:
                        want += ' AF_NETLINK'
                    self.assertIn(want, values.get(key, []), f'{unit}: {key}={want}')
                self.assertIn('@system-service', values.get('SystemCallFilter', []))
                program = unit.replace('.service', '').replace('@', '')
                program = 'edlivectl' if program == 'edlive-migrate' else program
                if unit in TEMPLATES:
                    port = 'EDLIVE_API_PORT' if program == 'ed-api' else 'EDLIVE_HUB_PORT'
                    self.assertEqual(values['ExecStart'][0],
                                     f'/usr/bin/env {port}=%i /usr/local/bin/{program}')
                else:
                    self.assertEqual(values['ExecStart'][0].split()[0], f'/usr/local/bin/{program}')
                own = 'edlivectl' if program == 'edlivectl' else program
                self.assertEqual(values['EnvironmentFile'],
                                 ['/etc/edlive/edlive.env', f'/etc/edlive/{own}.env'])
                if unit != 'edlive-migrate.service':
                    restart_sec = values['RestartSec'][0]
                    self.assertRegex(restart_sec, r'^[1-9][0-9]*s$', 'RestartSec a few seconds')
                    self.assertIn('edlive-migrate.service', values['After'][0].split())
                    self.assertIn('edlive.target', values['WantedBy'])
                    self.assertIn('edlive.target', values['PartOf'])

    def test_security_exposure(self):
        self.copy_units_with_build_binaries()
        for unit in SERVICE_UNITS + ['edlive-migrate.service', *TEMPLATES.values()]:
            with self.subTest(unit=unit):
                r = run(['systemd-analyze', 'security', '--offline=true', '--threshold=20',
                         f'./{unit}'], cwd=self.tmp)
                self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)

    def test_env_files_name_only_settings_the_programs_read(self):
        env = os.path.join(self.dir, 'env')
        every = set().union(*(settings_of(p) for p in PROGRAMS if p != 'edlivectl'))
        shared = env_file_names(os.path.join(env, 'edlive.env'))
        self.assertTrue(shared)
        for name in shared:
            self.assertTrue(name in every or name == 'PGPASSFILE', f'edlive.env: {name}')
        for program in PROGRAMS:
            names = env_file_names(os.path.join(env, f'{program}.env'))
            self.assertTrue(names, f'{program}.env sets something')
            for name in names:
                self.assertIn(name, settings_of(program), f'{program}.env: {name}')

    def test_install_dry_run_changes_nothing_and_names_every_step(self):
        # As nobody: a step that did change something would fail for want of permission.
        cmd = [os.path.join(self.dir, 'install'), '--dry-run', '--build', BUILD]
        r = run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', *cmd])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for unit in ALL_UNITS:
            self.assertRegex(r.stdout, rf'install -m 0644 .*/deploy/systemd/{re.escape(unit)} '
                                       rf'/etc/systemd/system/{re.escape(unit)}\n')
        for program, sub in PROGRAMS.items():
            self.assertIn(f'{BUILD}/services/{sub} /usr/local/bin/{program}\n', r.stdout)
        for example in os.listdir(os.path.join(self.dir, 'env')):
            self.assertRegex(r.stdout, rf'(install .* /etc/edlive/{example}|kept /etc/edlive/'
                                       rf'{example})')
        r = run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
                 os.path.join(self.dir, 'install'), '--build', BUILD])
        self.assertNotEqual(r.returncode, 0, 'without --dry-run it needs root')
        self.assertIn('run as root', r.stderr)


class YamlFiles(unittest.TestCase):
    def test_yamllint(self):
        files = repo_files(r'\.ya?ml$')
        self.assertIn('deploy/compose.yaml', files)
        r = run(['yamllint', '--strict', '-c', os.path.join(DEPLOY, 'yamllint.yaml'), *files],
                cwd=REPO)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for rel in files:
            load_yaml_docs(rel)


class Containers(unittest.TestCase):
    def test_compose_names_what_exists(self):
        compose = load_yaml_docs('deploy/compose.yaml')[0]
        targets = dockerfile_targets()
        for name, svc in compose['services'].items():
            with self.subTest(service=name):
                build = svc.get('build')
                if build:
                    context = os.path.normpath(os.path.join(DEPLOY, build['context']))
                    self.assertTrue(os.path.isdir(context), build['context'])
                    self.assertTrue(os.path.isfile(os.path.join(context, build['dockerfile'])))
                    self.assertIn(build['target'], targets)
                    self.assertEqual(svc['image'], f"edlive/{build['target']}")
                for vol in svc.get('volumes', []):
                    src = vol.split(':')[0]
                    if src.startswith('.'):
                        self.assertTrue(os.path.exists(os.path.join(DEPLOY, src)), src)
                    else:
                        self.assertIn(src, compose['volumes'], f'named volume {src}')
                for dep in svc.get('depends_on', {}):
                    self.assertIn(dep, compose['services'])
                if name != 'migrate':
                    self.assertIn('healthcheck', svc, f'{name} has a healthcheck')

    def test_dockerfile_copies_what_exists(self):
        text = read_text(os.path.join(DEPLOY, 'docker', 'Dockerfile'))
        ignore = [line.strip() for line in
                  read_text(os.path.join(DEPLOY, 'docker', 'Dockerfile.dockerignore')).splitlines()
                  if line.strip() and not line.startswith('#')]
        self.assertEqual(ignore[0], '**', 'the context holds only what is named')
        targets = dockerfile_targets()
        for m in re.finditer(r'^COPY\s+(.*)$', text, re.M):
            words = [w for w in m.group(1).split() if not w.startswith('--chmod')]
            if words[0].startswith('--from='):
                self.assertIn(words[0].split('=', 1)[1], targets)
                continue
            for src in words[:-1]:
                self.assertTrue(glob.glob(os.path.join(REPO, src)), f'COPY {src}')
                # ... and the build context has it: Dockerfile.dockerignore excludes all but
                # what it names with "!".
                kept = [p[1:] for p in ignore if p.startswith('!')]
                self.assertTrue(any(src == k or fnmatch.fnmatch(f'{src}/x', k) for k in kept),
                                f'COPY {src} is left out of the context by Dockerfile.dockerignore')
        self.assertRegex(text, r'(?m)^FROM debian:12-slim AS builder$')
        # Every runtime image runs as the unprivileged user.
        self.assertEqual(len(re.findall(r'(?m)^USER 10001:10001$', text)), 2)
        for target in ['ed-api', 'ed-hub', 'ed-relay', 'ed-mllp', 'edlivectl', 'nginx']:
            self.assertIn(target, targets)

    def test_k8s_names_what_exists(self):
        kust = load_yaml_docs('deploy/k8s/kustomization.yaml')[0]
        targets = dockerfile_targets()
        for image in kust['images']:
            self.assertIn(image['name'].split('/', 1)[1], targets)
        objs = k8s_objects()
        by_kind = {}
        for rel, o in objs:
            by_kind.setdefault(o['kind'], {})[o['metadata']['name']] = o
        config_keys = set(by_kind['ConfigMap']['edlive-config']['data'])
        secrets = {n: set(s['stringData']) for n, s in by_kind['Secret'].items()}
        deployments = by_kind['Deployment']
        self.assertEqual(set(deployments), {'api', 'hub', 'relay', 'mllp', 'web'})
        self.assertEqual(deployments['relay']['spec']['replicas'], 2)
        for rel, o in objs:
            spec = pod_spec(o)
            if not spec:
                continue
            with self.subTest(object=o['metadata']['name']):
                self.assertTrue(spec['securityContext']['runAsNonRoot'])
                for c in spec['containers']:
                    self.assertIn(c['image'].split(':')[0], [i['name'] for i in kust['images']])
                    self.assertFalse(c['securityContext']['allowPrivilegeEscalation'])
                    self.assertTrue(c['securityContext']['readOnlyRootFilesystem'])
                    for e in c.get('env', []):
                        ref = e.get('valueFrom', {})
                        if 'configMapKeyRef' in ref:
                            self.assertIn(ref['configMapKeyRef']['key'], config_keys)
                        if 'secretKeyRef' in ref:
                            s = ref['secretKeyRef']
                            self.assertIn(s['key'], secrets.get(s['name'], set()), s)
                    if o['kind'] != 'Deployment':
                        continue
                    ports = {p['name'] for p in c['ports']}
                    if o['metadata']['name'] != 'web':
                        self.assertEqual(c['livenessProbe']['httpGet']['path'], '/healthz')
                        self.assertEqual(c['readinessProbe']['httpGet']['path'], '/readyz')
                    self.assertIn(c['livenessProbe']['httpGet']['port'], ports)
                    self.assertIn(c['readinessProbe']['httpGet']['port'], ports)
        # Services select a Deployment's pods and name its ports.
        for name, svc in by_kind['Service'].items():
            with self.subTest(service=name):
                pods = [d for d in deployments.values()
                        if svc['spec']['selector'].items()
                        <= d['spec']['template']['metadata']['labels'].items()]
                self.assertEqual(len(pods), 1)
                ports = {p['name'] for c in pods[0]['spec']['template']['spec']['containers']
                         for p in c['ports']}
                for p in svc['spec']['ports']:
                    self.assertIn(p['targetPort'], ports)
        # The Ingresses reach Services by name and port name; /ws has the long timeouts.
        for name, ing in by_kind['Ingress'].items():
            for rule in ing['spec']['rules']:
                for path in rule['http']['paths']:
                    backend = path['backend']['service']
                    svc = by_kind['Service'][backend['name']]
                    self.assertIn(backend['port']['name'], [p['name'] for p in svc['spec']['ports']])
                    if path['path'] == '/ws':
                        notes = ing['metadata']['annotations']
                        for key in ('proxy-read-timeout', 'proxy-send-timeout'):
                            self.assertEqual(notes[f'nginx.ingress.kubernetes.io/{key}'], '3600')
            self.assertTrue(ing['spec']['tls'])
        self.assertEqual(by_kind['HorizontalPodAutoscaler']['hub']['spec']['scaleTargetRef']['name'],
                         'hub')
        self.assertEqual(by_kind['PodDisruptionBudget']['hub']['spec']['selector']['matchLabels'],
                         deployments['hub']['spec']['selector']['matchLabels'])
        self.assertGreaterEqual(deployments['hub']['spec']['template']['spec']
                                ['terminationGracePeriodSeconds'], 30)

    def test_docker_nginx_conf_passes_nginx_t(self):
        # The compose / Kubernetes host names and paths replaced by this machine's.
        tmp = tempfile.mkdtemp(prefix='edlive-nginx-')
        self.addCleanup(shutil.rmtree, tmp)
        os.makedirs(os.path.join(tmp, 'tls'))
        run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj',
             '/CN=localhost', '-keyout', f'{tmp}/tls/key.pem', '-out', f'{tmp}/tls/cert.pem'],
            check=True)
        text = read_text(os.path.join(DEPLOY, 'docker', 'nginx.conf'))
        for host in ('api', 'hub'):
            self.assertIn(f'server {host}:', text)
            text = text.replace(f'server {host}:', 'server 127.0.0.1:')
        text = text.replace('/var/lib/edlive/tls', f'{tmp}/tls').replace('/tmp/nginx', tmp)
        self.assertIn('root /usr/local/share/edlive/web;', text)
        write_text(os.path.join(tmp, 'nginx.conf'), text)
        r = run(['nginx', '-t', '-p', tmp, '-c', f'{tmp}/nginx.conf', '-e', 'stderr'])
        self.assertEqual(r.returncode, 0, r.stderr)


class Settings(unittest.TestCase):
    def check(self, where, program, names):
        known = settings_of(program)
        for name in names:
            if name.startswith('EDLIVE_'):
                self.assertIn(name, known, f'{where}: {program} does not read {name}')

    def test_compose(self):
        compose = load_yaml_docs('deploy/compose.yaml')[0]
        programs = {'api': 'ed-api', 'hub': 'ed-hub', 'relay': 'ed-relay', 'mllp': 'ed-mllp',
                    'migrate': 'edlivectl'}
        for svc, program in programs.items():
            self.check(f'compose {svc}', program, compose['services'][svc]['environment'])

    def test_k8s(self):
        programs = {'edlive/ed-api': 'ed-api', 'edlive/ed-hub': 'ed-hub',
                    'edlive/ed-relay': 'ed-relay', 'edlive/ed-mllp': 'ed-mllp',
                    'edlive/edlivectl': 'edlivectl'}
        every = set().union(*(settings_of(p) for p in PROGRAMS))
        for rel, o in k8s_objects():
            if o['kind'] == 'ConfigMap':
                for name in o['data']:
                    # EDLIVE_PG_OWNER: edlivectl's EDLIVE_PG (the schema owner), by reference.
                    self.assertTrue(name in every or name == 'EDLIVE_PG_OWNER', name)
            spec = pod_spec(o)
            for c in spec['containers'] if spec else []:
                program = programs.get(c['image'].split(':')[0])
                if program:
                    self.check(rel, program, [e['name'] for e in c.get('env', [])])

    def test_dockerfile_targets(self):
        text = read_text(os.path.join(DEPLOY, 'docker', 'Dockerfile'))
        for stage in re.split(r'(?m)^FROM ', text)[1:]:
            target = stage.split()[2] if len(stage.split()) > 2 else ''
            if target in PROGRAMS:
                self.check(f'Dockerfile {target}', target, re.findall(r'\b(EDLIVE_[A-Z_]+)=', stage))


class ShellScripts(unittest.TestCase):
    def test_shellcheck(self):
        scripts = []
        for rel in repo_files(r'.'):
            path = os.path.join(REPO, rel)
            if rel.endswith('.sh'):
                scripts.append(rel)
                continue
            try:
                with open(path, 'rb') as f:
                    first = f.readline(200)
            except OSError:
                continue
            if re.match(rb'#!\s*(/usr)?/bin/(env\s+)?(ba)?sh\b', first):
                scripts.append(rel)
        for expected in ('deploy/local/up', 'deploy/local/lib.sh', 'deploy/systemd/install',
                         '.ci/run', 'load-tests/run'):
            self.assertIn(expected, scripts)
        r = run(['shellcheck', '--severity=warning', '--external-sources', *scripts], cwd=REPO)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    BUILD = os.path.realpath(sys.argv[1])
    unittest.main(argv=[sys.argv[0], '-v', *sys.argv[2:]])
