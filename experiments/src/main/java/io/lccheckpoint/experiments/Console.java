package io.lccheckpoint.experiments;

import java.util.Locale;

/** The experiments' lines on standard output, formatted the same way everywhere (Locale.ROOT). */
final class Console {
    private Console() {
    }

    static void say(String format, Object... arguments) {
        System.out.println(String.format(Locale.ROOT, format, arguments));
    }
}
