package io.lccheckpoint.experiments;

import com.github.mustachejava.DefaultMustacheFactory;
import com.github.mustachejava.MustacheFactory;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;

/**
 * The reports' prose: Mustache templates ({@code *.md.mustache} next to this class) rendered with values the experiments
 * format. Markdown, not HTML: values are written as they are, never escaped.
 */
final class Templates {
    private static final MustacheFactory FACTORY = new DefaultMustacheFactory("io/lccheckpoint/experiments") {
        @Override
        public void encode(String value, Writer writer) {
            try {
                writer.write(value);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private Templates() {
    }

    /** The template {@code name} rendered with {@code scope} (a map of names to values, lists of maps for tables). */
    static String render(String name, Object scope) {
        StringWriter out = new StringWriter();
        FACTORY.compile(name).execute(out, scope);
        return out.toString();
    }
}
