package io.lccheckpoint.cli;

import io.lccheckpoint.eval.FashionMnist;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every evaluation command shares (a picocli mixin): the data, the report, the threads of resumed runs. */
final class EvalOptions {
    @Option(names = "--dataset", description = "Directory of the Fashion-MNIST IDX files (default: Debian's package).")
    Path dataset = FashionMnist.DEFAULT_DIRECTORY;

    @Option(names = "--report", defaultValue = "docs/EVALUATION.md", description = "The report it writes (default ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--threads", description = "Threads for the resumed runs (default: the machine's cores); results do not depend on it.")
    int threads = Runtime.getRuntime().availableProcessors();
}
