/* plot_text.c - measure and draw pango text for the Cairo renderer (see plot_text.h). */
#include "plot_text.h"
#include "plot_util.h"

#include <stdio.h>

#include <math.h>
#include <string.h>

static void setup_context(PangoContext *pc) {
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(pc, fo);
    cairo_font_options_destroy(fo);
    /* 72 dpi: one point is one user-space unit, so font sizes in points (ours and those in
     * markup such as <sup>, <small>) come out right whatever the target's scale */
    pango_cairo_context_set_resolution(pc, 72.0);
}

int mlmp__text_init_measure(mlmp__text *t) {
    memset(t, 0, sizeof *t);
    t->surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    t->cr = cairo_create(t->surf);
    if (cairo_status(t->cr) != CAIRO_STATUS_SUCCESS) { mlmp__text_free(t); return -1; }
    t->pc = pango_cairo_create_context(t->cr);
    if (!t->pc) { mlmp__text_free(t); return -1; }
    setup_context(t->pc);
    return 0;
}

int mlmp__text_init_cr(mlmp__text *t, cairo_t *cr) {
    memset(t, 0, sizeof *t);
    t->cr = cr;
    t->pc = pango_cairo_create_context(cr);
    if (!t->pc) return -1;
    setup_context(t->pc);
    return 0;
}

void mlmp__text_free(mlmp__text *t) {
    if (t->pc) g_object_unref(t->pc);
    if (t->surf) { cairo_destroy(t->cr); cairo_surface_destroy(t->surf); }
    memset(t, 0, sizeof *t);
}

/* Pango 1.50 scales <sup>/<sub> wrongly next to an explicit font size; rewrite them as spans
 * with an explicit size and rise (in 1/1024 pt) for base size `size`. Caller g_free()s. */
static char *fix_supsub(const char *s, double size) {
    if (!strstr(s, "<su")) return NULL;
    char sup[80], sub[80];
    int small = (int)(size * 0.72 * PANGO_SCALE);
    snprintf(sup, sizeof sup, "<span size=\"%d\" rise=\"%d\">", small, (int)(size * 0.42 * PANGO_SCALE));
    snprintf(sub, sizeof sub, "<span size=\"%d\" rise=\"%d\">", small, (int)(-size * 0.18 * PANGO_SCALE));
    GString *g = g_string_new(NULL);
    for (const char *p = s; *p;) {
        if (!strncmp(p, "<sup>", 5)) { g_string_append(g, sup); p += 5; }
        else if (!strncmp(p, "<sub>", 5)) { g_string_append(g, sub); p += 5; }
        else if (!strncmp(p, "</sup>", 6) || !strncmp(p, "</sub>", 6)) { g_string_append(g, "</span>"); p += 6; }
        else g_string_append_c(g, *p++);
    }
    return g_string_free(g, FALSE);
}

static PangoLayout *make(mlmp__text *t, const char *s, mlmp__font f, int markup, double wrap,
                         double ha) {
    PangoLayout *l = pango_layout_new(t->pc);
    PangoFontDescription *d = pango_font_description_new();
    pango_font_description_set_family(d, f.mono ? "DejaVu Sans Mono,Monospace" : "DejaVu Sans,Sans");
    pango_font_description_set_size(d, (gint)(f.size * PANGO_SCALE + 0.5));
    if (f.bold) pango_font_description_set_weight(d, PANGO_WEIGHT_BOLD);
    if (f.italic) pango_font_description_set_style(d, PANGO_STYLE_ITALIC);
    pango_layout_set_font_description(l, d);
    pango_font_description_free(d);
    if (wrap > 0) {
        pango_layout_set_width(l, (int)(wrap * PANGO_SCALE));
        pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    }
    pango_layout_set_alignment(l, ha < 0.25 ? PANGO_ALIGN_LEFT : ha > 0.75 ? PANGO_ALIGN_RIGHT
                                                                         : PANGO_ALIGN_CENTER);
    if (!s) s = "";
    if (markup && (strchr(s, '<') || strchr(s, '&'))) {
        PangoAttrList *attrs = NULL;
        char *plain = NULL;
        char *fixed = fix_supsub(s, f.size);
        gboolean ok = pango_parse_markup(fixed ? fixed : s, -1, 0, &attrs, &plain, NULL, NULL);
        g_free(fixed);
        if (ok) {
            pango_layout_set_text(l, plain, -1);
            pango_layout_set_attributes(l, attrs);
            pango_attr_list_unref(attrs);
            g_free(plain);
            return l;
        }
    }
    pango_layout_set_text(l, s, -1);
    return l;
}

void mlmp__text_size(mlmp__text *t, const char *s, mlmp__font f, int markup, double wrap,
                     double *w, double *h) {
    PangoLayout *l = make(t, s, f, markup, wrap, 0);
    int iw, ih;
    pango_layout_get_size(l, &iw, &ih);
    if (w) *w = (double)iw / PANGO_SCALE;
    if (h) *h = (double)ih / PANGO_SCALE;
    g_object_unref(l);
}

void mlmp__text_draw(mlmp__text *t, const char *s, mlmp__font f, int markup, double wrap,
                     double x, double y, double ha, double va, double angle_deg, mlmp_color c) {
    if (!s || !*s) return;
    PangoLayout *l = make(t, s, f, markup, wrap, ha);
    int iw, ih;
    pango_layout_get_size(l, &iw, &ih);
    double w = wrap > 0 ? wrap : (double)iw / PANGO_SCALE, h = (double)ih / PANGO_SCALE;
    cairo_t *cr = t->cr;
    cairo_save(cr);
    cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a);
    cairo_translate(cr, x, y);
    if (angle_deg != 0) cairo_rotate(cr, -angle_deg * M_PI / 180.0);
    cairo_move_to(cr, -ha * w, -va * h);
    pango_cairo_show_layout(cr, l);
    cairo_restore(cr);
    g_object_unref(l);
}
