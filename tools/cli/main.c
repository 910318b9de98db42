/* main.c - the `kiln` command: dispatches to a subcommand (compile, inspect, run) and answers
 * --help, --version and `kiln help COMMAND`. Each subcommand lives in cmd_<name>.c. */
#include "cli.h"

static const char main_help[] =
    "kiln - ahead-of-time compiler for ONNX models\n"
    "\n"
    "usage: kiln COMMAND [ARGS...]\n"
    "       kiln --help | --version\n"
    "       kiln help COMMAND\n"
    "\n"
    "commands:\n"
    "  compile   compile an ONNX model into a .kiln bundle for the kiln runtime\n"
    "  inspect   summarize a model or bundle: inputs, outputs, ops, sizes, memory plan\n"
    "  run       run a model or bundle on .npy inputs with kiln's interpreter, write .npy\n"
    "  bench     compare configurations (-O levels): latency, throughput, sizes, accuracy\n"
    "\n"
    "Run 'kiln help COMMAND' or 'kiln COMMAND --help' for a command's options.\n";

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"compile", kiln_cmd_compile, kiln_help_compile},
    {"inspect", kiln_cmd_inspect, kiln_help_inspect},
    {"run", kiln_cmd_run, kiln_help_run},
    {"bench", kiln_cmd_bench, kiln_help_bench},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static int find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return (int)i;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (cli_is_help(cmd)) {
        fputs(main_help, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("kiln %s\n", KILN_VERSION_STRING);
        return CLI_OK;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc < 3) {
            fputs(main_help, stdout);
            return CLI_OK;
        }
        int k = find_command(argv[2]);
        if (k < 0)
            return cli_usage_error("kiln help COMMAND (commands: compile, inspect, run)",
                                   "unknown command", argv[2]);
        fputs(commands[k].help, stdout);
        return CLI_OK;
    }
    int k = find_command(cmd);
    if (k < 0)
        return cli_usage_error("kiln COMMAND [ARGS...] (commands: compile, inspect, run; see "
                               "kiln --help)",
                               cmd[0] == '-' ? "unknown option" : "unknown command", cmd);
    /* subcommands see argv[0] = their name */
    return commands[k].fn(argc - 1, argv + 1);
}
