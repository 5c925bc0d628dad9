package io.lccheckpoint.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The lcckpt command. */
@Command(name = "lcckpt", mixinStandardHelpOptions = true, version = "lc-checkpoint 0.1.0",
        description = "Every-step lossy checkpoints of deep-learning training, streamed through Apache Kafka.",
        subcommands = {DemoCommand.class, BrokerCommand.class, RestoreCommand.class, StepsCommand.class, EncoderCommand.class, BenchCommand.class,
                EvalCommand.class, BridgeCommand.class, CommandLine.HelpCommand.class})
public final class Lcckpt {
    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "On an error, print its stack trace too.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /**
     * Runs a command. A user error (a bad setting, a file that cannot be read, a step that cannot be restored) prints
     * one line naming the command and the reason, and exits 1; {@code --verbose} adds the stack trace.
     */
    static int execute(String... args) {
        return execute(new java.io.PrintWriter(System.err, true), args);
    }

    /** As {@link #execute(String...)}, with the error line going to {@code err} (tests). */
    static int execute(java.io.PrintWriter err, String... args) {
        CommandLine commandLine = new CommandLine(new Lcckpt()).setErr(err);
        commandLine.setExecutionExceptionHandler((error, failed, parseResult) -> {
            failed.getErr().println("lcckpt " + failed.getCommandName() + ": " + describe(error));
            if (parseResult.hasMatchedOption("--verbose") || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"))) {
                error.printStackTrace(failed.getErr());
            } else {
                failed.getErr().println("(--verbose prints the stack trace)");
            }
            return 1;
        });
        return commandLine.execute(args);
    }

    /** The message of an error and of its causes, once each: what a user acts on. */
    static String describe(Throwable error) {
        StringBuilder text = new StringBuilder(error.getMessage() != null ? error.getMessage() : error.getClass().getSimpleName());
        for (Throwable cause = error.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
            if (cause.getMessage() != null && !text.toString().contains(cause.getMessage())) {
                text.append(": ").append(cause.getMessage());
            }
        }
        return text.toString();
    }
}
