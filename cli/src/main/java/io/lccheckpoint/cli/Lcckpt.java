package io.lccheckpoint.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The lcckpt command. */
@Command(name = "lcckpt", mixinStandardHelpOptions = true, version = "lc-checkpoint 0.1.0",
        description = "Every-step lossy checkpoints of deep-learning training, streamed through Apache Kafka.",
        subcommands = {DemoCommand.class, RestoreCommand.class, EncoderCommand.class, BenchCommand.class, EvalCommand.class, CommandLine.HelpCommand.class})
public final class Lcckpt {
    public static void main(String[] args) {
        int exit = new CommandLine(new Lcckpt()).execute(args);
        System.exit(exit);
    }
}
