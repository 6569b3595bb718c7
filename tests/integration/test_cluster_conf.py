"""droverfs cluster mode: corosync.conf in the tree is installed on every node when
its config_version is higher; one node asks corosync to reload; lower is refused."""
import re
import time

import pytest

from polling import wait_for

RELOAD = "asking corosync to reload"


def conf_version(text):
    m = re.search(r"^\s*config_version\s*:\s*(\d+)\s*$", text, re.M)
    assert m, text
    return int(m.group(1))


def with_version(text, version):
    return re.sub(r"^(\s*config_version\s*:\s*)\d+(\s*)$", rf"\g<1>{version}\g<2>", text,
                  count=1, flags=re.M)


def write_conf(sb, node, text):
    """temp file + mv inside the mount, as an admin would."""
    sb.exec(node, "sh", "-c", 'cat > /etc/drover/corosync.conf.new && '
            'mv /etc/drover/corosync.conf.new /etc/drover/corosync.conf', input=text)


def installed(sb, node):
    return sb.read_file(node, "/etc/corosync/corosync.conf")


def test_higher_config_version_installed_everywhere_one_reload(sb):
    tree_conf = sb.read_file("node1", "/etc/drover/corosync.conf")
    for node in sb.node_names:
        assert installed(sb, node) == tree_conf, node
    old = conf_version(tree_conf)
    new_text = with_version(tree_conf, old + 1)
    assert conf_version(new_text) == old + 1
    logs_before = {n: len(sb.log(n)) for n in sb.node_names}

    write_conf(sb, "node2", new_text)
    for node in sb.node_names:
        wait_for(f"corosync.conf version {old + 1} on {node}",
                 lambda: installed(sb, node) == new_text, 30, dump=sb.debug_dump)
        # (polled: a file replaced by rename on another node is briefly ENOENT
        # here, see test_cluster_basic.py::test_rename_over_is_atomic_on_other_nodes)
        wait_for(f"the tree on {node}", lambda: sb.exec(node, "cat", "/etc/drover/corosync.conf",
                 check=False).stdout == new_text, 10, dump=sb.debug_dump)

    def reloads():
        return {n: sb.log(n)[logs_before[n]:].count(RELOAD) for n in sb.node_names}

    wait_for(f"'{RELOAD}' in a droverfs log", lambda: sum(reloads().values()) >= 1, 30)
    # corosync has the new version (the reload went through) ...
    for node in sb.node_names:
        wait_for(f"corosync of {node} to run config_version {old + 1}",
                 lambda: sb.exec(node, "corosync-cmapctl", "-g", "totem.config_version",
                                 check=False).stdout.strip().endswith(f"= {old + 1}"), 30)
    # ... and nobody else asks again
    time.sleep(2)
    counts = reloads()
    assert sum(counts.values()) == 1, counts
    assert counts["node1"] == 1, counts  # the lowest member asks
    for node in sb.node_names:
        sb.wait_quorate(node, True)
        assert "not installed" not in sb.log(node)[logs_before[node]:]


def test_lower_config_version_refused(sb):
    current = installed(sb, "node1")
    version = conf_version(current)
    for node in sb.node_names:
        assert installed(sb, node) == current, node
    logs_before = {n: len(sb.log(n)) for n in sb.node_names}
    lower = with_version(current, version - 1) + "# lower\n"

    write_conf(sb, "node3", lower)
    sb.wait_synced()
    for node in sb.node_names:
        wait_for(f"the tree on {node}", lambda: sb.exec(node, "cat", "/etc/drover/corosync.conf",
                 check=False).stdout == lower, 10, dump=sb.debug_dump)
    # every node refuses it and says so
    for node in sb.node_names:
        wait_for(f"the refusal in {node}'s log", lambda: "corosync.conf from the tree not installed"
                 in sb.log(node)[logs_before[node]:], 30, dump=sb.debug_dump)
    for node in sb.node_names:
        assert installed(sb, node) == current, node
        assert RELOAD not in sb.log(node)[logs_before[node]:]
    wait_for("the refusal in the cluster log",
             lambda: "not installed" in sb.read_file("node1", "/etc/drover/.clusterlog") or
             str(version - 1) in sb.read_file("node1", "/etc/drover/.clusterlog"), 30)
    for node in sb.node_names:
        assert sb.quorate(node)
