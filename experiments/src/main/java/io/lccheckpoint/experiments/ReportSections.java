package io.lccheckpoint.experiments;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Sections of a report that different commands regenerate: {@code <!-- name:start -->} ... {@code <!-- name:end -->}.
 * {@code lcckpt eval} rewrites the report but keeps the sections other commands wrote; {@code lcckpt eval hapi}
 * rewrites only its own.
 */
public final class ReportSections {
    private ReportSections() {
    }

    public static String start(String name) {
        return "<!-- " + name + ":start -->";
    }

    public static String end(String name) {
        return "<!-- " + name + ":end -->";
    }

    /** The section with its markers, or "" if the document has none. */
    public static String section(String document, String name) {
        int from = document.indexOf(start(name));
        int to = document.indexOf(end(name));
        return from < 0 || to < from ? "" : document.substring(from, to + end(name).length()) + "\n";
    }

    /** The document with the section replaced, or appended if it had none. */
    public static String replace(String document, String name, String content) {
        String block = start(name) + "\n" + content + (content.endsWith("\n") ? "" : "\n") + end(name) + "\n";
        String existing = section(document, name);
        if (existing.isEmpty()) {
            return document + (document.isEmpty() || document.endsWith("\n\n") ? "" : document.endsWith("\n") ? "\n" : "\n\n") + block;
        }
        int from = document.indexOf(start(name));
        int to = document.indexOf(end(name)) + end(name).length();
        String after = document.substring(to);
        return document.substring(0, from) + block + (after.startsWith("\n") ? after.substring(1) : after);
    }

    public static void write(Path report, String name, String content) throws IOException {
        String document = Files.exists(report) ? Files.readString(report) : "";
        Path parent = report.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(report, replace(document, name, content));
    }
}
