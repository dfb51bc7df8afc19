#!/usr/bin/env python3
"""Fails on an #include edge ARCHITECTURE.md does not allow.

Reads the "allowed-edges" table of <root>/ARCHITECTURE.md (the one place the edges are written), then
every #include "..." under <root>/daemon/ and <root>/admin/mediaxctl/: an include of "<folder>/..." from
another folder must be listed in the including folder's row, and a library header listed in the
"library-owners" table may be included only in the folders its row names. Also checks that each
daemon/<folder>/CMakeLists.txt lists every .cpp of its folder and links exactly the mediax_<folder>
targets of its row, and that every daemon folder has a row. Prints file:line: edge for each failure; exit status 1 if any.

usage: check_includes.py <root>
"""
import os
import re
import sys

TABLE_BEGIN = "<!-- allowed-edges"
TABLE_END = "<!-- end allowed-edges -->"
OWNERS_BEGIN = "<!-- library-owners"
OWNERS_END = "<!-- end library-owners -->"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SYSTEM_INCLUDE = re.compile(r'^\s*#\s*include\s+<([^>]+)>')
LINKED_FOLDER = re.compile(r"\bmediax_([a-z]+)\b")
LINK_CALL = re.compile(r"target_link_libraries\(([^)]*)\)", re.S)
CLI = "admin/mediaxctl"


def read_table(architecture_md, begin_marker, end_marker, required=True):
    """{first cell: set of comma-separated names in the second} from the table between the markers."""
    text = open(architecture_md, encoding="utf-8").read()
    begin, end = text.find(begin_marker), text.find(end_marker)
    if begin < 0 or end < begin:
        if not required:
            return {}
        raise SystemExit(f"{architecture_md}: no table between {begin_marker} and {end_marker}")
    rows = {}
    for line in text[begin:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) != 2 or cells[0].startswith("-"):
            continue
        if cells[0] in ("folder", "header", ""):
            continue
        rows[cells[0]] = {u.strip() for u in cells[1].split(",") if u.strip()}
    return rows


def read_edges(architecture_md):
    """{folder: set of folders it may use}."""
    return read_table(architecture_md, TABLE_BEGIN, TABLE_END)


def folder_of(root, path):
    rel = os.path.relpath(path, root)
    if rel.startswith(CLI + os.sep):
        return CLI
    parts = rel.split(os.sep)  # daemon/<folder>/file or daemon/main.cpp
    return parts[1] if len(parts) > 2 else "main"


def source_files(root):
    for top in ("daemon", CLI):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if name.endswith((".cpp", ".hpp", ".h")):
                    yield os.path.join(dirpath, name)


def check(root):
    edges = read_edges(os.path.join(root, "ARCHITECTURE.md"))
    owners = read_table(os.path.join(root, "ARCHITECTURE.md"), OWNERS_BEGIN, OWNERS_END, required=False)
    daemon = os.path.join(root, "daemon")
    folders = sorted(d for d in os.listdir(daemon) if os.path.isdir(os.path.join(daemon, d)))
    failures = []
    for folder in folders:
        if folder not in edges:
            failures.append(f"daemon/{folder}: no row in the allowed-edges table of ARCHITECTURE.md")
    for folder, uses in edges.items():
        for used in uses - set(folders):
            failures.append(f"ARCHITECTURE.md: {folder} may use {used}, which is not a daemon folder")

    for path in source_files(root):
        src = folder_of(root, path)
        rel = os.path.relpath(path, root)
        for number, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
            lib = SYSTEM_INCLUDE.match(line)
            if lib:
                for header, places in owners.items():
                    if lib.group(1).startswith(header) and src not in places:
                        failures.append(f"{rel}:{number}: <{lib.group(1)}> belongs to {', '.join(sorted(places))} only")
                continue
            m = INCLUDE.match(line)
            if not m or "/" not in m.group(1):
                continue  # "x.hpp": the including file's own folder
            dst = m.group(1).split("/")[0]
            if dst == src:
                continue
            if dst not in folders:
                failures.append(f"{rel}:{number}: {src} -> {dst}: \"{m.group(1)}\" is in no daemon folder")
            elif dst not in edges.get(src, set()):
                failures.append(f"{rel}:{number}: {src} -> {dst} is not an allowed edge (\"{m.group(1)}\")")

    for folder in folders:
        cmake = os.path.join(daemon, folder, "CMakeLists.txt")
        if not os.path.exists(cmake):
            failures.append(f"daemon/{folder}/CMakeLists.txt: missing (one static library per folder)")
            continue
        cmake_text = open(cmake, encoding="utf-8").read()
        listed = set(re.findall(r"[\w.]+\.cpp\b", cmake_text))
        for name in sorted(os.listdir(os.path.join(daemon, folder))):
            if name.endswith(".cpp") and name not in listed:
                failures.append(f"daemon/{folder}/{name}: not in daemon/{folder}/CMakeLists.txt (never compiled)")
        linked = set()
        for args in LINK_CALL.findall(cmake_text):
            linked |= {f for f in LINKED_FOLDER.findall(args) if f in folders and f != folder}
        allowed = edges.get(folder, set())
        for extra in sorted(linked - allowed):
            failures.append(f"daemon/{folder}/CMakeLists.txt: links mediax_{extra}, not an allowed edge")
        for missing in sorted(allowed - linked):
            failures.append(f"daemon/{folder}/CMakeLists.txt: does not link mediax_{missing} (allowed edge)")
    return failures


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    failures = check(argv[1])
    for f in failures:
        print(f)
    if failures:
        print(f"{len(failures)} include edge(s) ARCHITECTURE.md does not allow", file=sys.stderr)
        return 1
    print("include edges: all allowed by ARCHITECTURE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
