#!/usr/bin/env python3
"""Self-test of check_includes.py: a tree with a forbidden edge must fail, naming file, line and edge."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_includes  # noqa: E402

ARCHITECTURE = """# arch
<!-- allowed-edges: test -->
| folder | may use |
|--------|---------|
| util   | |
| core   | util |
| main   | core |
| admin/mediaxctl | util |
<!-- end allowed-edges -->
<!-- library-owners: test -->
| header | only in |
|--------|---------|
| pqxx/  | core |
<!-- end library-owners -->
"""


class CheckIncludesTest(unittest.TestCase):
    def tree(self, files):
        root = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__("shutil").rmtree(root))
        base = {
            "ARCHITECTURE.md": ARCHITECTURE,
            "daemon/util/CMakeLists.txt": "mediax_folder(util a.cpp)\n",
            "daemon/util/a.hpp": "#pragma once\n#include <string>\n",
            "daemon/core/CMakeLists.txt": "mediax_folder(core b.cpp)\ntarget_link_libraries(mediax_core PUBLIC mediax_util)\n",
            "daemon/core/b.hpp": '#pragma once\n#include "util/a.hpp"\n#include "core/c.hpp"\n',
            "daemon/main.cpp": '#include "core/b.hpp"\n',
            "admin/mediaxctl/cli.cpp": '#include "cli.hpp"\n#include "util/a.hpp"\n',
        }
        base.update(files)
        for rel, text in base.items():
            if text is None:
                continue
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return root

    def test_allowed_edges_pass(self):
        self.assertEqual(check_includes.check(self.tree({})), [])

    def test_an_edge_upwards_fails_naming_file_line_and_edge(self):
        root = self.tree({"daemon/util/a.hpp": '#pragma once\n\n#include "core/b.hpp"\n'})
        self.assertEqual(check_includes.check(root),
                         ['daemon/util/a.hpp:3: util -> core is not an allowed edge ("core/b.hpp")'])

    def test_the_cli_may_not_use_a_folder_its_row_does_not_list(self):
        root = self.tree({"admin/mediaxctl/cli.cpp": '#include "core/b.hpp"\n'})
        self.assertEqual(check_includes.check(root),
                         ['admin/mediaxctl/cli.cpp:1: admin/mediaxctl -> core is not an allowed edge ("core/b.hpp")'])

    def test_an_include_of_no_folder_fails(self):
        root = self.tree({"daemon/core/b.hpp": '#include "nowhere/x.hpp"\n'})
        self.assertEqual(len(check_includes.check(root)), 1)
        self.assertIn("core -> nowhere", check_includes.check(root)[0])

    def test_a_folder_without_a_row_fails(self):
        root = self.tree({"daemon/extra/CMakeLists.txt": "mediax_folder(extra e.cpp)\n"})
        self.assertIn("daemon/extra: no row in the allowed-edges table of ARCHITECTURE.md", check_includes.check(root))

    def test_cmake_links_must_match_the_table(self):
        root = self.tree({"daemon/core/CMakeLists.txt": "mediax_folder(core b.cpp)\n"})
        self.assertEqual(check_includes.check(root),
                         ["daemon/core/CMakeLists.txt: does not link mediax_util (allowed edge)"])
        root = self.tree({"daemon/util/CMakeLists.txt":
                          "mediax_folder(util a.cpp)\ntarget_link_libraries(mediax_util PUBLIC mediax_core)\n"})
        self.assertEqual(check_includes.check(root),
                         ["daemon/util/CMakeLists.txt: links mediax_core, not an allowed edge"])

    def test_a_link_list_over_several_lines_is_read_whole(self):
        root = self.tree({"daemon/core/CMakeLists.txt":
                          "mediax_folder(core b.cpp)\ntarget_link_libraries(mediax_core PUBLIC\n  mediax_util nlohmann)\n"})
        self.assertEqual(check_includes.check(root), [])

    def test_a_source_file_missing_from_its_folder_cmake_fails(self):
        root = self.tree({"daemon/util/a.cpp": "", "daemon/util/new.cpp": ""})
        self.assertEqual(check_includes.check(root),
                         ["daemon/util/new.cpp: not in daemon/util/CMakeLists.txt (never compiled)"])

    def test_a_library_header_outside_its_folders_fails(self):
        root = self.tree({"daemon/core/b.hpp": "#include <pqxx/pqxx>\n#include <string>\n"})
        self.assertEqual(check_includes.check(root), [])
        root = self.tree({"daemon/util/a.hpp": "#pragma once\n#include <pqxx/pqxx>\n"})
        self.assertEqual(check_includes.check(root), ["daemon/util/a.hpp:2: <pqxx/pqxx> belongs to core only"])

    def test_main_exits_1_on_a_failure(self):
        root = self.tree({"daemon/util/a.hpp": '#include "core/b.hpp"\n'})
        self.assertEqual(check_includes.main(["check_includes.py", root]), 1)
        self.assertEqual(check_includes.main(["check_includes.py", self.tree({})]), 0)


if __name__ == "__main__":
    unittest.main()
